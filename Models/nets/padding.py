"""The U-Net's size arithmetic (valid convolutions: only some input and output sizes work), without TensorFlow, so
that the shape arithmetic and the inference engines that do not use TensorFlow (``Models.separation.onnx_engine``)
can use it. ``Models.nets.unet`` re-exports both functions."""

from __future__ import annotations

from collections.abc import Sequence


def _bottleneck_size(desired: int, num_layers: int) -> int:
    """Smallest bottleneck size whose decoder output is at least ``desired`` (see :func:`get_padding`)."""
    step = 2**num_layers
    return 2 + max(0, -(-(desired - 2) // step))


def get_padding(
    desired_output_shape: Sequence[int], num_layers: int = 4
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Input and output sizes of the U-Net for a desired output size.

    Per axis, with bottleneck size ``b`` (the feature map after the last down-step), the decoder gives
    ``out = 2**L * (b - 2) + 2`` (each up-step doubles, then a valid 3x3 conv removes 2), the encoder needs
    ``in = 2 + e_0`` with ``e_L = b``, ``e_{i-1} = 2 * (e_i + 2)`` (each down-step halves, then removes 2), so
    every pooled map is even. ``b >= 2`` is required, and the smallest ``b`` with ``out >= desired`` is used.

    Example: ``get_padding((256, 64), 4) == ((350, 158), (258, 66))``.

    Args:
        desired_output_shape: ``(freq, time)`` minimum output size, each ``>= 1``.
        num_layers: number of down- (and up-) steps ``L >= 1``.

    Returns:
        ``((freq_in, time_in), (freq_out, time_out))``.
    """
    if num_layers < 1:
        raise ValueError(f"Unet: num_layers must be >= 1, got {num_layers}")
    sizes_in, sizes_out = [], []
    for desired in desired_output_shape:
        desired = int(desired)
        if desired < 1:
            raise ValueError(
                f"Unet: desired output shape must be positive, got {tuple(desired_output_shape)}"
            )
        bottom = _bottleneck_size(desired, num_layers)
        size_in, size_out = bottom, bottom
        for _ in range(num_layers):
            size_out = 2 * size_out - 2
            size_in = 2 * (size_in + 2)
        sizes_in.append(size_in + 2)
        sizes_out.append(size_out)
    return (sizes_in[0], sizes_in[1]), (sizes_out[0], sizes_out[1])


def get_output_shape(input_shape: Sequence[int], num_layers: int = 4) -> tuple[int, int]:
    """Output ``(freq, time)`` of the U-Net for input ``(freq, time)``; ValueError if the input is invalid.

    Runs the shape arithmetic forwards: first conv ``-2``, each down-step ``/2`` (size must be even) then
    ``-2``, each up-step ``*2`` then ``-2``. Valid inputs are exactly those of the form :func:`get_padding`
    returns (``in = 2**L * (b + 4) - 2`` for some ``b >= 2``).
    """
    sizes = []
    for size_in in input_shape:
        size = int(size_in) - 2
        for _ in range(num_layers):
            if size < 2 or size % 2:
                raise ValueError(
                    f"Unet: input shape {tuple(input_shape)} invalid for {num_layers} layers "
                    f"(pooling an odd or too small map); use get_padding"
                )
            size = size // 2 - 2
        if size < 2:
            raise ValueError(f"Unet: input shape {tuple(input_shape)} too small for {num_layers} layers")
        for _ in range(num_layers):
            size = 2 * size - 2
        sizes.append(size)
    return sizes[0], sizes[1]
