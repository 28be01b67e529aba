"""Run with a rendered service's tests directory on sys.path: start its fake OpenAI server
with a fixed delay, time the `openai` client calling it directly (a whole reply, and the
first streamed token), print one JSON line with those medians and the server's port, then
keep the server up until killed, for bench/run.py to time the service against it.

    python bench/llm_direct.py <service dir> <runs> <delay seconds>
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time

SERVICE, RUNS, DELAY_S = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sys.path.insert(0, SERVICE)
sys.path.insert(0, f"{SERVICE}/tests")

from fakes.fake_openai import FakeOpenAI  # type: ignore[import-not-found]  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from openai.types.chat import ChatCompletionMessageParam  # noqa: E402


async def direct_medians(base_url: str) -> tuple[float, float]:
    client = AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "how am I doing?"}]
    whole, first_token = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        await client.chat.completions.create(model="m", messages=messages)
        whole.append(time.perf_counter() - started)
        started = time.perf_counter()
        stream = await client.chat.completions.create(model="m", messages=messages, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first_token.append(time.perf_counter() - started)
                break
        await stream.close()
    return statistics.median(whole), statistics.median(first_token)


def main() -> None:
    fake = FakeOpenAI(fixed_delay_s=DELAY_S).start()
    direct, direct_first = asyncio.run(direct_medians(fake.base_url))
    print(
        json.dumps({"direct_s": direct, "direct_first_token_s": direct_first, "port": fake.port}),
        flush=True,
    )
    threading.Event().wait()


if __name__ == "__main__":
    main()
