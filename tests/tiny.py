"""A tiny separator config shared by the inference, evaluation and CLI tests (fast on a CPU)."""

TINY_MODEL = {
    "num_fft": 512,
    "num_hop": 256,
    "expected_sr": 8192,
    "num_frames": 8,
    "num_layers": 1,
    "num_initial_filters": 2,
    "output_activation": "relu",
    "inference_batch_size": 8,
    "mono_downmix": True,
    "jit_compile": False,
}
