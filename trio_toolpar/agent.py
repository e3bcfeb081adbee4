"""The agent loop over HTTP, with streaming dispatch, and the model clients it talks to.

```python
async with httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10)) as http:
    model = OpenAIChat(http, model="gpt-4.1", api_key=key)
    result = await run_agent(model, executor, "Why is checkout slow?")
print(result.text)
```

`run_agent` asks the model, runs the turn's tool calls with an `Executor`,
appends the observations and repeats until the model answers without tool
calls, or ``max_turns`` or the total ``budget`` is reached. With a
streamed response each call starts as soon as its arguments are complete
in the stream, while the model is still writing the next one.

`OpenAIChat` speaks Chat Completions to any OpenAI-compatible server
(OpenAI, vLLM, Ollama, llama.cpp, OpenRouter); `OpenAIResponses` speaks
OpenAI's Responses API; `AnthropicMessages` speaks Anthropic's Messages
API; `ScriptedModel` plays a script on Trio's clock, for tests and offline
demos. Any object with the `ModelClient` methods will do; `HTTPModel` is
the request, retry and stream-reading core the HTTP clients share, for a
client of another provider. httpx is needed only by the HTTP clients, when
they send.
"""

from ._agent._anthropic_model import AnthropicMessages as AnthropicMessages
from ._agent._loop import AgentResult as AgentResult
from ._agent._loop import Dispatch as Dispatch
from ._agent._loop import Message as Message
from ._agent._loop import ModelClient as ModelClient
from ._agent._loop import ModelReply as ModelReply
from ._agent._loop import StopReason as StopReason
from ._agent._loop import Usage as Usage
from ._agent._loop import run_agent as run_agent
from ._agent._model_http import HTTPModel as HTTPModel
from ._agent._model_retry import RequestRetry as RequestRetry
from ._agent._model_retry import retry_after as retry_after
from ._agent._openai_models import OpenAIChat as OpenAIChat
from ._agent._openai_models import OpenAIResponses as OpenAIResponses
from ._agent._scripted import ScriptedModel as ScriptedModel
from ._agent._scripted import ScriptedReply as ScriptedReply
from ._values._exceptions import ModelError as ModelError
from ._wire._sse import ServerSentEvent as ServerSentEvent
from ._wire._sse import SSEDecoder as SSEDecoder
from ._wire._sse import aiter_sse_bytes as aiter_sse_bytes
from ._wire._sse import aiter_sse_lines as aiter_sse_lines

__all__ = [
    "AgentResult",
    "AnthropicMessages",
    "Dispatch",
    "HTTPModel",
    "Message",
    "ModelClient",
    "ModelError",
    "ModelReply",
    "OpenAIChat",
    "OpenAIResponses",
    "RequestRetry",
    "SSEDecoder",
    "ScriptedModel",
    "ScriptedReply",
    "ServerSentEvent",
    "StopReason",
    "Usage",
    "aiter_sse_bytes",
    "aiter_sse_lines",
    "retry_after",
    "run_agent",
]
