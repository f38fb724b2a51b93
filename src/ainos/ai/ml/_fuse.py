"""ONNX Runtime's transformer optimizer on a built BERT graph: fused Attention, LayerNorm and GELU.

``optimize_model`` is run with ``opt_level=0``: any higher level first optimises through an
``InferenceSession`` whose set-up imports PyTorch. ONNX Runtime's own graph optimisations
still run when the fused model is loaded. Symbolic shape inference is switched off because it
needs ``sympy``, which ainos does not depend on; every BERT fusion matches without it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import onnx

from ._spec import BertConfig

__all__ = ["FUSED_OPERATORS", "FUSIONS", "FusionResult", "fuse_bert"]

# The fused operators worth reporting, in the order they appear in a BERT layer.
FUSED_OPERATORS = (
    "EmbedLayerNormalization",
    "Attention",
    "SkipLayerNormalization",
    "BiasGelu",
    "Gelu",
    "FastGelu",
)
_MS_DOMAIN = "com.microsoft"

# Fusions that can be switched off one by one, and the FusionOptions flags behind each.
FUSIONS: dict[str, tuple[str, ...]] = {
    "attention": ("enable_attention",),
    "embed_layer_norm": ("enable_embed_layer_norm",),
    "skip_layer_norm": ("enable_skip_layer_norm", "enable_bias_skip_layer_norm"),
    "gelu": ("enable_gelu", "enable_bias_gelu"),
}


@dataclass(frozen=True)
class FusionResult:
    model: onnx.ModelProto
    fusions: dict[str, int]  # fused operator -> count, only those that occurred


@contextmanager
def _quiet_optimizer() -> Iterator[None]:
    """Keep the optimizer's progress notes (warnings about skipped shape inference) off stderr.

    Its modules import one another as top-level modules, so their loggers carry the bare
    module names; those are silenced below ERROR for the duration, then restored.
    """
    import onnxruntime.transformers as package

    stems = {path.stem for path in Path(package.__file__).parent.glob("*.py")}
    existing = set(logging.root.manager.loggerDict)
    loggers = [logging.getLogger(name) for name in (stems & existing) | {package.__name__}]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def fuse_bert(
    model: onnx.ModelProto, bert: BertConfig, *, disabled: Collection[str] = ()
) -> FusionResult:
    """Fuse ``model`` (which is left unchanged) for CPU inference, except the ``disabled``
    fusions (keys of :data:`FUSIONS`)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_shape_inference = False
    # The raw 0/1 mask, not the sequence-length index ORT prefers for BERT: the index is only
    # right for right-padded masks, while the pooling reads the mask as given. Measured at
    # the same speed on CPU.
    options.use_raw_attention_mask(True)
    # Exact erf GELU (BiasGelu), not the tanh approximation (FastGelu): no accuracy given up.
    options.enable_gelu_approximation = False
    for name in disabled:
        for flag in FUSIONS[name]:
            setattr(options, flag, False)

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    with _quiet_optimizer():
        optimizer = optimize_model(
            copy,
            model_type="bert",
            num_heads=bert.num_heads,
            hidden_size=bert.hidden_size,
            optimization_options=options,
            opt_level=0,
        )
    fused: onnx.ModelProto = optimizer.model
    # The optimizer adds its custom-operator domain only when it saves to a file.
    if any(node.domain == _MS_DOMAIN for node in fused.graph.node) and not any(
        opset.domain == _MS_DOMAIN for opset in fused.opset_import
    ):
        fused.opset_import.append(onnx.helper.make_opsetid(_MS_DOMAIN, 1))
    counts: dict[str, int] = {}
    for node in fused.graph.node:
        if node.op_type in FUSED_OPERATORS:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return FusionResult(model=fused, fusions=counts)
