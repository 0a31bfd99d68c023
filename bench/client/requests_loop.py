#!/usr/bin/env python3
"""A Python `requests` streaming loop like the earlier tool's, for comparison
with bench_client: CPU time of this process per streamed request against the
test server (tests/fakes/openai_server) with zero delays.

    python3 bench/client/requests_loop.py BUILD/tests/fakes/openai_server [N] [server flags...]
"""
import json
import resource
import subprocess
import sys
import time

import requests


def main():
    server = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    srv = subprocess.Popen([server, "--port", "0", "--tokens", "100"] + sys.argv[3:],
                           stdout=subprocess.PIPE)
    try:
        port = int(srv.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        session = requests.Session()
        body = {"model": "test-model",
                "messages": [{"role": "user", "content": "Write a short story."}],
                "max_tokens": 100, "stream": True, "stream_options": {"include_usage": True}}

        def one():
            tokens = 0
            with session.post(url, json=body, stream=True) as r:
                for line in r.iter_lines():
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        d = json.loads(line[6:])
                        if d.get("choices") and d["choices"][0]["delta"].get("content"):
                            tokens += 1
            return tokens

        for _ in range(20):
            one()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        tokens = sum(one() for _ in range(n))
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        print(f"python requests: {n} requests x {tokens / n:.0f} tokens, "
              f"{time.monotonic() - t0:.2f} s wall, CPU {cpu * 1e3 / n:.3f} ms/request")
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
