"""The chat model behind the optional generative mode, made from the `llm` setting.

`llm = "openai:<model>"` talks to any OpenAI-compatible endpoint (`llm_base_url`, e.g. a local
vLLM or llama.cpp server at http://127.0.0.1:8000/v1; the API key comes from the provider's own
OPENAI_API_KEY variable); `llm = "ollama:<model>"` to an Ollama server (`llm_base_url`, default
http://127.0.0.1:11434). The provider packages are imported only when the mode is switched on.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = {
    "openai": ("langchain_openai", "ChatOpenAI", "langchain-openai"),
    "ollama": ("langchain_ollama", "ChatOllama", "langchain-ollama"),
}


def chat_model(spec: str, base_url: str = "") -> Any:
    """A LangChain chat model for `spec` ("openai:<model>" or "ollama:<model>")."""
    provider, _, model = spec.partition(":")
    if provider not in PROVIDERS or not model:
        raise ValueError(
            f"setting llm: {spec!r} is not 'openai:<model>' or 'ollama:<model>' (or '' for off)"
        )
    module_name, class_name, package = PROVIDERS[provider]
    try:
        module = __import__(module_name, fromlist=[class_name])
    except ImportError as exc:
        raise ValueError(
            f"setting llm: {spec!r} needs the {package} package (pip install {package})"
        ) from exc
    cls = getattr(module, class_name)
    kwargs: dict[str, Any] = {"model": model, "temperature": 0}
    if base_url:
        kwargs["base_url"] = base_url
    return cls(**kwargs)
