"""Float operations of a traced TensorFlow function, counted from its graph (no execution).

    from benchmarks.flops import graph_flops, flops_by_op
    function = tf.function(f).get_concrete_function(tf.TensorSpec([2, 350, 158, 1]))
    graph_flops(function)        # int, one call
    flops_by_op(function)        # {"Conv2D": ..., "Conv2DBackpropFilter": ..., ...}

The function's variables are frozen into constants (``convert_variables_to_constants_v2``) and its graph is
imported into a fresh ``tf.Graph``, so every tensor has the static shape the input signature implies; the input
signature must therefore be fully defined. Each op is then counted on its own:

* convolutions and matrix products, which dominate any network's cost, by the exact multiply-add count (2 FLOPs
  per multiply-add) computed here from the shapes: ``Conv2D`` ``2 * |output| * kh * kw * c_in``;
  ``Conv2DBackpropInput`` (the gradient of a convolution with respect to its input, and the forward op of
  ``Conv2DTranspose``) and ``Conv2DBackpropFilter`` (the gradient with respect to the kernel) the multiply-adds of
  the convolution they differentiate, ``2 * |out_backprop| * kh * kw * c_in`` -- the same as its forward pass,
  whatever the stride or padding; ``MatMul`` / ``BatchMatMul*`` ``2 * m * n * k`` per matrix;
* every other op by the statistics TensorFlow's profiler registers (``tf.compat.v1.profiler``'s
  ``float_operation`` view: elementwise arithmetic, reductions, pooling, ``BiasAdd``/``BiasAddGrad``...); ops
  without registered statistics (``Relu``, ``ReluGrad``, ``Select``, ``Exp``, ``Sqrt``, FFTs, gathers and
  copies) count 0, as in the profiler.

Why not the profiler's total as is: it does register ``Conv2DBackpropInput``/``Conv2DBackpropFilter``, but
estimates them from the size of the convolution's *input* divided by the stride area, which is exact only for
``same`` padding; for the valid 3x3 convolutions of the U-Net it over-counts by ``(H * W) / ((H - 2) * (W - 2))``
(see :func:`profiler_flops` to compare). For the forward ops the two counts agree exactly.

Graphs with function-call or control-flow ops (``PartitionedCall``, ``While``, ``If``) are refused rather than
under-counted: trace the per-replica computation (e.g. a gradient function), not a training loop.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

ConcreteFunction = tf.types.experimental.ConcreteFunction
CALL_OPS = {"PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If", "StatelessIf", "Case"}


def frozen_graph(function: ConcreteFunction) -> tf.Graph:
    """``function``'s graph with its variables turned into constants, imported into a fresh graph (so that shape
    inference runs on the whole graph)."""
    graph_def = convert_variables_to_constants_v2(function).graph.as_graph_def()
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
    return graph


def _shape(tensor: tf.Tensor) -> list[int]:
    """The static shape of ``tensor`` as ints; ValueError if any dimension is unknown."""
    if not tensor.shape.is_fully_defined():
        raise ValueError(f"flops: tensor {tensor.name} has no static shape ({tensor.shape}); trace with a full "
                         "input signature")
    return [int(d) for d in tensor.shape]


def _conv_flops(op: tf.Operation) -> int:
    """Multiply-adds x 2 of the convolution ``op`` computes or differentiates (NHWC)."""
    if op.get_attr("data_format") != b"NHWC":
        raise ValueError(f"flops: {op.name}: only NHWC convolutions are counted")
    if op.type == "Conv2D":  # inputs (input, filter) -> output
        kh, kw, c_in, _ = _shape(op.inputs[1])
        return 2 * int(np.prod(_shape(op.outputs[0]))) * kh * kw * c_in
    # Conv2DBackpropInput (input_sizes, filter, out_backprop) -> d input;
    # Conv2DBackpropFilter (input, filter_sizes, out_backprop) -> d filter [kh, kw, c_in, c_out].
    kernel = op.inputs[1] if op.type == "Conv2DBackpropInput" else op.outputs[0]
    kh, kw, c_in, _ = _shape(kernel)
    return 2 * int(np.prod(_shape(op.inputs[2]))) * kh * kw * c_in


def _matmul_flops(op: tf.Operation) -> int:
    """``2 * m * n * k`` per matrix of a (batched) matrix product."""
    a = _shape(op.inputs[0])
    transpose = op.get_attr("adj_x" if op.type.startswith("BatchMatMul") else "transpose_a")
    k = a[-2] if transpose else a[-1]
    return 2 * int(np.prod(_shape(op.outputs[0]))) * k


EXACT = {"Conv2D": _conv_flops, "Conv2DBackpropInput": _conv_flops, "Conv2DBackpropFilter": _conv_flops,
         "MatMul": _matmul_flops, "BatchMatMul": _matmul_flops, "BatchMatMulV2": _matmul_flops,
         "BatchMatMulV3": _matmul_flops}


def op_flops(graph: tf.Graph, op: tf.Operation) -> int:
    """Float operations of one op of an imported, fully shaped graph (see the module docstring)."""
    if op.type in CALL_OPS:
        raise ValueError(f"flops: {op.name} is a {op.type}; its body would not be counted")
    if op.type in EXACT:
        return EXACT[op.type](op)
    try:
        stats = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
    except LookupError:  # no statistics registered for this op type: 0, as the profiler counts it
        if "Conv" in op.type or "MatMul" in op.type:  # e.g. a fused convolution: refuse rather than drop it
            raise ValueError(f"flops: {op.name}: no rule to count a {op.type}") from None
        return 0
    return int(stats.value or 0)


def flops_by_op(function: ConcreteFunction) -> dict[str, int]:
    """Float operations of one call of ``function`` per op type (types with 0 left out), largest first."""
    graph = frozen_graph(function)
    totals: Counter[str] = Counter()
    for op in graph.get_operations():
        totals[op.type] += op_flops(graph, op)
    return {name: count for name, count in totals.most_common() if count}


def graph_flops(function: ConcreteFunction) -> int:
    """Float operations of one call of ``function``, counted from its frozen graph (see the module docstring)."""
    return sum(flops_by_op(function).values())


def profiler_flops(function: ConcreteFunction) -> int:
    """The TF profiler's own ``total_float_ops`` for one call of ``function`` (for comparison with
    :func:`graph_flops`; approximate for convolution gradients)."""
    graph = frozen_graph(function)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)
