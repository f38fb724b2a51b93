"""On-device machine learning (Windows ML / Foundry Local, portable).

Sentence embeddings: a sentence-transformers BERT model shipped as safetensors is converted
to an optimised ONNX graph (fp32, or int8 with per-channel MatMul weights) without PyTorch,
cached under the user's cache directory, and run on ONNX Runtime::

    model = EmbeddingModel.packaged()            # all-MiniLM-L6-v2, converted on first use
    vectors = model.embed(["a text", "another"])  # [2, 384] float32, L2-normalised
"""

from ._bert_graph import build_sentence_encoder, load_bert_weights
from ._catalog import EMBEDDING_VARIANTS, CatalogEntry, ModelCatalog
from ._choice import choose_embedding_variant
from ._convert import (
    CONVERTER_VERSION,
    VARIANTS,
    ConvertedModel,
    ProgressCallback,
    Variant,
    convert_packaged_model,
    convert_sentence_encoder,
    model_cache_dir,
)
from ._embedding import EmbeddingModel, physical_cores
from ._embeddings import (
    MAX_TEXTS_PER_REQUEST,
    EmbeddingLimits,
    EmbeddingRequest,
    EmbeddingResult,
    EmbeddingService,
    PreparedEmbedding,
    bucket_length,
    embedding_request,
)
from ._evaluate import SAMPLE_TEXTS, SpeedSample, VariantReport, compare_models, evaluate_variant
from ._fuse import FUSIONS, FusionResult, fuse_bert
from ._gate import GateStats, ModelGate
from ._gguf import GgufInfo, read_gguf_info
from ._model_metrics import ModelMetrics
from ._ops import register_ml_operations
from ._packaged import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    PACKAGED_CHAT_MODELS,
    PACKAGED_MODELS,
    PackagedChatModel,
    PackagedModel,
    distribution_dir,
    distribution_file,
    packaged_chat_model_file,
    packaged_model_dir,
)
from ._pinned import embed_through_pool, register_pinned_operations
from ._providers import (
    ExecutionProviderInfo,
    ProviderPolicy,
    ProviderSelection,
    apply_provider_policy,
    execution_provider_catalog,
)
from ._spec import BertConfig, SentenceEncoderSpec, read_sentence_encoder
from ._tokenize import EmbeddingTokenizer, Feeds

__all__ = [
    "CONVERTER_VERSION",
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "EMBEDDING_VARIANTS",
    "FUSIONS",
    "MAX_TEXTS_PER_REQUEST",
    "PACKAGED_CHAT_MODELS",
    "PACKAGED_MODELS",
    "SAMPLE_TEXTS",
    "VARIANTS",
    "BertConfig",
    "CatalogEntry",
    "ConvertedModel",
    "EmbeddingLimits",
    "EmbeddingModel",
    "EmbeddingRequest",
    "EmbeddingResult",
    "EmbeddingService",
    "EmbeddingTokenizer",
    "ExecutionProviderInfo",
    "Feeds",
    "FusionResult",
    "GateStats",
    "GgufInfo",
    "ModelCatalog",
    "ModelGate",
    "ModelMetrics",
    "PackagedChatModel",
    "PackagedModel",
    "PreparedEmbedding",
    "ProgressCallback",
    "ProviderPolicy",
    "ProviderSelection",
    "SentenceEncoderSpec",
    "SpeedSample",
    "Variant",
    "VariantReport",
    "apply_provider_policy",
    "bucket_length",
    "build_sentence_encoder",
    "choose_embedding_variant",
    "compare_models",
    "convert_packaged_model",
    "convert_sentence_encoder",
    "distribution_dir",
    "distribution_file",
    "embed_through_pool",
    "embedding_request",
    "evaluate_variant",
    "execution_provider_catalog",
    "fuse_bert",
    "load_bert_weights",
    "model_cache_dir",
    "packaged_chat_model_file",
    "packaged_model_dir",
    "physical_cores",
    "read_gguf_info",
    "read_sentence_encoder",
    "register_ml_operations",
    "register_pinned_operations",
]
