"""The built-in providers, as data: the earlier tool's forty, then the ones added since.

The forty keep the earlier tool's names, URLs, key variables and base-URL variables
(``OPENAI_API_OPENAI=http://localhost:8080/v1``). The ones added since are written in the
providers-file language (see the README, "Your own providers file") and read by the same parser
as a user's file; each names its key variables as the provider's own docs do and cites the page
that documents its list endpoint.
"""

from __future__ import annotations

from typing import Any

# The earlier tool's forty providers: name, kind, base URL, key variable, base-URL variable.
_BUILTIN_TABLE: list[tuple[str, str, str, str | None, str]] = [
    ("aihorde", "openai", "https://oai.aihorde.net/v1", "AIHORDE_KEY", "AIHORDE_API_OPENAI"),
    ("anthropic", "anthropic", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY", "ANTHROPIC_API_OPENAI"),
    ("atlascloud", "openai", "https://api.atlascloud.ai/v1", "ATLASCLOUD_API_KEY", "ATLASCLOUD_API_OPENAI"),
    ("avian", "openai", "https://api.avian.io/v1", "AVIAN_API_KEY", "AVIAN_API_OPENAI"),
    ("baseten", "openai", "https://inference.baseten.co/v1", "BASETEN_API_KEY", "BASETEN_API_OPENAI"),
    ("cerebras", "openai", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", "CEREBRAS_API_OPENAI"),
    ("chutes", "openai", "https://llm.chutes.ai/v1", "CHUTES_API_KEY", "CHUTES_API_OPENAI"),
    ("deepinfra", "openai", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY", "DEEPINFRA_API_OPENAI"),
    ("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_API_OPENAI"),
    ("enfer", "openai", "https://api.enfer.ai/v1", "ENFER_API_KEY", "ENFER_API_OPENAI"),
    ("featherless", "openai", "https://api.featherless.ai/v1", "FEATHERLESS_API_KEY", "FEATHERLESS_API_OPENAI"),
    ("fireworks", "openai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "FIREWORKS_API_OPENAI"),
    ("friendli", "openai", "https://api.friendli.ai/serverless/v1", "FRIENDLI_TOKEN", "FRIENDLI_API_OPENAI"),
    (
        "gemini",
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GOOGLE_API_KEY",
        "GEMINI_API_OPENAI",
    ),
    ("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_API_OPENAI"),
    ("huggingface", "openai", "https://router.huggingface.co/v1", "HUGGINGFACEHUB_API_TOKEN", "HUGGINGFACE_API_OPENAI"),
    ("hyperbolic", "openai", "https://api.hyperbolic.xyz/v1", "HYPERBOLIC_API_KEY", "HYPERBOLIC_API_OPENAI"),
    ("inference", "openai", "https://api.inference.net/v1", "INFERENCENET_API_KEY", "INFERENCENET_API_OPENAI"),
    ("infermatic", "openai", "https://api.totalgpt.ai/v1", "INFERMATIC_API_KEY", "INFERMATIC_API_OPENAI"),
    (
        "litellm",
        "url",
        "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json",
        None,
        "LITELLM_API_OPENAI",
    ),
    ("llm7", "openai", "https://api.llm7.io/v1", "LLM7_API_KEY", "LLM7_API_OPENAI"),
    ("lmstudio", "openai", "http://othello.local:1234/v1", "LMSTUDIO_API_KEY", "LMSTUDIO_API_OPENAI"),
    ("mancer", "openai", "https://neuro.mancer.tech/oai/v1", "MANCER_API_KEY", "MANCER_API_OPENAI"),
    ("mistral", "openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "MISTRAL_API_OPENAI"),
    ("moonshot", "openai", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", "MOONSHOT_API_OPENAI"),
    ("morphllm", "openai", "https://api.morphllm.com/v1", "MORPHLLM_API_KEY", "MORPHLLM_API_OPENAI"),
    ("nebius", "openai", "https://api.studio.nebius.com/v1", "NEBIUS_API_KEY", "NEBIUS_API_OPENAI"),
    ("nineteenai", "openai", "https://api.nineteen.ai/v1", "NINETEENAI_API_KEY", "NINETEENAI_API_OPENAI"),
    ("novita", "openai", "https://api.novita.ai/v3/openai", "NOVITA_API_KEY", "NOVITA_API_OPENAI"),
    ("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_API_OPENAI"),
    ("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_API_OPENAI"),
    ("parasail", "openai", "https://api.parasail.io/v1", "PARASAIL_API_KEY", "PARASAIL_API_OPENAI"),
    ("poe", "openai", "https://api.poe.com/v1", "POE_API_KEY", "POE_API_OPENAI"),
    (
        "pollinations",
        "openai",
        "https://text.pollinations.ai/openai",
        "POLLINATIONS_API_KEY",
        "POLLINATIONS_API_OPENAI",
    ),
    ("redpill", "openai", "https://api.redpill.ai/v1", "REDPILL_API_KEY", "REDPILL_API_OPENAI"),
    ("sambanova", "openai", "https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY", "SAMBANOVA_API_OPENAI"),
    ("targon", "openai", "https://api.targon.com/v1", "TARGON_API_KEY", "TARGON_API_OPENAI"),
    ("togetherai", "openai", "https://api.together.xyz/v1", "TOGETHERAI_API_KEY", "TOGETHERAI_API_OPENAI"),
    ("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY", "XAI_API_OPENAI"),
    ("zai", "openai", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", "ZAI_API_OPENAI"),
]

# Lists anyone may read: a user with no keys at all still gets thousands of models from these.
_PUBLIC_LISTS = frozenset({"litellm", "openrouter", "pollinations", "llm7"})

# Providers added after the earlier tool, written in the providers-file language and read by the
# same parser as a user's file. Key variables are named as each provider's own docs name them;
# each entry cites the page documenting its list endpoint (also shown by `vexy providers --json`).
_MORE_BUILTINS: dict[str, dict[str, Any]] = {
    "modelsdev": {
        # models.dev's catalog, a third keyless reference after litellm and openrouter: an object
        # of providers, each with its models (cost, limit, modalities, reasoning, tool_call...).
        # One row per model, its id qualified by models.dev's provider id: groq/llama-3.3-70b-
        # versatile (detection finds this too; named here so a new top-level key cannot move it).
        "kind": "url",
        "base_url": "https://models.dev/api.json",
        "list_path": "*.models",
        "base_url_env": "MODELSDEV_API_OPENAI",
        "api_key_env": None,
        "docs": "https://models.dev",
    },
    "azure": {
        # https://learn.microsoft.com/en-us/azure/ai-foundry/openai/api-version-lifecycle (v1 API)
        # https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list
        "base_url": "${AZURE_OPENAI_ENDPOINT}/openai/v1",
        "api_key_env": "AZURE_OPENAI_API_KEY",
        "auth": {"header": "api-key"},
        "params": {"api-version": "preview"},
        "note": "lists the models your resource can deploy; requests name your deployments",
        "docs": "https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list",
    },
    "bedrock": {
        # https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html
        # Answer: {"modelSummaries": [{"modelId", "modelArn", "providerName", ...}]}, unpaged.
        "kind": "native",
        "base_url": "https://bedrock.${AWS_REGION:-${AWS_DEFAULT_REGION}}.amazonaws.com",
        "base_url_env": "BEDROCK_API_OPENAI",
        "models_path": "/foundation-models",
        "api_key_env": None,
        "auth": {"aws_sigv4": {"service": "bedrock", "region": "${AWS_REGION:-${AWS_DEFAULT_REGION}}"}},
        "docs": "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html",
    },
    "cloudflare-ai-gateway": {
        # https://developers.cloudflare.com/ai-gateway/usage/chat-completion/ (the OpenAI-compatible
        # /compat endpoint; GET /compat/models answers {"object": "list", "data": [...]}).
        "base_url": "https://gateway.ai.cloudflare.com/v1/${CLOUDFLARE_ACCOUNT_ID}/${CLOUDFLARE_GATEWAY_ID:-default}/compat",
        "base_url_env": "CLOUDFLARE_AI_GATEWAY_API_OPENAI",
        "api_key_env": "CLOUDFLARE_API_TOKEN",
        "docs": "https://developers.cloudflare.com/ai-gateway/usage/chat-completion/",
    },
    "cloudflare-workers-ai": {
        # https://developers.cloudflare.com/api/resources/ai/subresources/models/methods/list/
        # GET /accounts/{account_id}/ai/models/search answers {"result": [...], "result_info":
        # {"page", "per_page", "count", "total_count"}}. A record's "id" is an internal UUID; the
        # model is called by its "name" (@cf/meta/...), so the id field is named here.
        "base_url": "https://api.cloudflare.com/client/v4/accounts/${CLOUDFLARE_ACCOUNT_ID}/ai/v1",
        "base_url_env": "CLOUDFLARE_WORKERS_AI_API_OPENAI",
        "models_path": "../models/search",
        "api_key_env": "CLOUDFLARE_API_TOKEN",
        "paging": {
            "page": {"param": "page", "size_param": "per_page", "size": 100, "total_field": "result_info.total_count"}
        },
        "id_field": "name",
        "docs": "https://developers.cloudflare.com/api/resources/ai/subresources/models/methods/list/",
    },
    "cohere": {
        # https://docs.cohere.com/reference/list-models: GET /v1/models?page_size=&page_token=,
        # answering {"models": [{"name", "context_length", ...}], "next_page_token": "..."}.
        "kind": "native",
        "base_url": "https://api.cohere.com/v1",
        "base_url_env": "COHERE_API_OPENAI",
        "api_key_env": "CO_API_KEY",
        "paging": {
            "cursor": {"param": "page_token", "field": "next_page_token", "size_param": "page_size", "size": 1000}
        },
        "docs": "https://docs.cohere.com/reference/list-models",
    },
    "dashscope": {
        # https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope
        # (the OpenAI-compatible mode; GET /compatible-mode/v1/models answers {"data": [...]}).
        "base_url": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "base_url_env": "DASHSCOPE_API_OPENAI",
        "api_key_env": "DASHSCOPE_API_KEY",
        "docs": "https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope",
    },
    "github-models": {
        # https://docs.github.com/en/rest/models/catalog#list-all-models: GET
        # https://models.github.ai/catalog/models answers a bare list of {"id": "openai/gpt-4.1", ...}.
        "base_url": "https://models.github.ai/inference",
        "base_url_env": "GITHUB_MODELS_API_OPENAI",
        "models_path": "../catalog/models",
        "api_key_env": "GITHUB_TOKEN",
        "headers": {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        "docs": "https://docs.github.com/en/rest/models/catalog#list-all-models",
    },
    "minimax": {
        # https://platform.minimax.io/docs/api-reference/models/anthropic/list-models: Anthropic's
        # list shape (data, has_more, last_id) with limits per model, but a Bearer key.
        "kind": "anthropic",
        "base_url": "https://api.minimax.io/anthropic/v1",
        "base_url_env": "MINIMAX_API_OPENAI",
        "api_key_env": "MINIMAX_API_KEY",
        "auth": "bearer",
        "docs": "https://platform.minimax.io/docs/api-reference/models/anthropic/list-models",
    },
    "nvidia": {
        # https://docs.api.nvidia.com/nim/reference/models-1: GET /v1/models, OpenAI's shape.
        "base_url": "https://integrate.api.nvidia.com/v1",
        "base_url_env": "NVIDIA_API_OPENAI",
        "api_key_env": "NVIDIA_API_KEY",
        "docs": "https://docs.api.nvidia.com/nim/reference/models-1",
    },
    "ollama": {
        # https://docs.ollama.com/api/tags: GET /api/tags answers {"models": [{"name", "model",
        # "size", "details": {...}}]}; no key. OLLAMA_HOST is Ollama's own address variable
        # (host:port); the base URL is its OpenAI-compatible /v1, the list one level up.
        "base_url": "${OLLAMA_HOST:-http://localhost:11434}/v1",
        "base_url_env": "OLLAMA_API_OPENAI",
        "models_path": "../api/tags",
        "api_key_env": None,
        "auth": "none",
        "local": True,
        "docs": "https://docs.ollama.com/api/tags",
    },
    "ovhcloud": {
        # https://help.ovhcloud.com/csm/en-public-cloud-ai-endpoints-getting-started: an
        # OpenAI-compatible API; models can be listed and tried without a token (rate-limited).
        "base_url": "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1",
        "base_url_env": "OVHCLOUD_API_OPENAI",
        "api_key_env": "OVH_AI_ENDPOINTS_ACCESS_TOKEN",
        "key_required": False,
        "docs": "https://help.ovhcloud.com/csm/en-public-cloud-ai-endpoints-getting-started",
    },
    "perplexity": {
        # https://docs.perplexity.ai/api-reference/models-get: GET /v1/models, OpenAI's shape.
        "base_url": "https://api.perplexity.ai/v1",
        "base_url_env": "PERPLEXITY_API_OPENAI",
        "api_key_env": "PERPLEXITY_API_KEY",
        "note": "lists the Agent API's models; the Sonar models (sonar, sonar-pro, ...) are not listed by the API",
        "docs": "https://docs.perplexity.ai/api-reference/models-get",
    },
    "siliconflow": {
        # https://docs.siliconflow.com/en/api-reference/models/get-model-list: OpenAI's shape.
        "base_url": "https://api.siliconflow.com/v1",
        "base_url_env": "SILICONFLOW_API_OPENAI",
        "api_key_env": "SILICONFLOW_API_KEY",
        "docs": "https://docs.siliconflow.com/en/api-reference/models/get-model-list",
    },
    "venice": {
        # https://docs.venice.ai/api-reference/endpoint/models/list: GET /api/v1/models?type=...,
        # {"data": [{"id", "model_spec": {...}}]}; type=all lists text, image, audio and embedding models.
        "base_url": "https://api.venice.ai/api/v1",
        "base_url_env": "VENICE_API_OPENAI",
        "api_key_env": "VENICE_API_KEY",
        "params": {"type": "all"},
        "docs": "https://docs.venice.ai/api-reference/endpoint/models/list",
    },
    "vercel": {
        # https://vercel.com/docs/ai-gateway/openai-compat#list-models: GET /v1/models with prices.
        "base_url": "https://ai-gateway.vercel.sh/v1",
        "base_url_env": "VERCEL_API_OPENAI",
        "api_key_env": "AI_GATEWAY_API_KEY",
        "docs": "https://vercel.com/docs/ai-gateway/openai-compat#list-models",
    },
    "vertex": {
        # https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/publishers.models/list:
        # {"publisherModels": [{"name": "publishers/google/models/gemini-..."}], "nextPageToken"}.
        "kind": "native",
        "base_url": "https://${GOOGLE_CLOUD_LOCATION:-us-central1}-aiplatform.googleapis.com/v1beta1",
        "base_url_env": "VERTEX_API_OPENAI",
        "models_path": "/publishers/google/models",
        "api_key_env": None,
        "auth": "google",
        "paging": {"cursor": {"param": "pageToken", "field": "nextPageToken", "size_param": "pageSize", "size": 100}},
        "docs": "https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/publishers.models/list",
    },
    "vllm": {
        # https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html: GET /v1/models,
        # OpenAI's shape with max_model_len; SGLang serves the same. The key is optional
        # (vllm serve --api-key); VLLM_BASE_URL is e.g. http://localhost:8000/v1.
        "base_url": "${VLLM_BASE_URL}",
        "api_key_env": "VLLM_API_KEY",
        "key_required": False,
        "docs": "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
    },
}
