"""A client session with the official Python MCP SDK (1.x) against obi-mcp over stdio.

Run by tests/run.sh after `cargo test` has built the binary and the test components.
Exits non-zero on the first failed check.
"""

import asyncio
import os
import pathlib
import sys
import tempfile

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("OBI_MCP_BIN") or str(ROOT / "target/debug/obi-mcp")
TESTBED = ROOT / "target/wasm-tests/wasm32-wasip2/release/testbed.wasm"
EXAMPLE = ROOT / "target/wasm-plugins/wasm32-wasip2/release/otlp_explain.wasm"


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


async def session(home: pathlib.Path):
    config = home / "config.yaml"
    config.write_text(
        "toolsets:\n  extra:\n"
        f"    - path: {TESTBED}\n      grants: {{ state: true }}\n"
        f"    - path: {EXAMPLE}\n      grants: {{ state: true }}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "OBI_MCP_CONFIG": str(config),
    }
    params = StdioServerParameters(command=BIN, args=[], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            check(init.serverInfo.name == "obi-mcp", "server name is obi-mcp")
            await s.send_ping()
            check(True, "ping")

            tools, cursor = [], None
            while True:
                page = await s.list_tools(cursor=cursor) if cursor else await s.list_tools()
                tools.extend(page.tools)
                cursor = page.nextCursor
                if not cursor:
                    break
            names = [t.name for t in tools]
            check("testbed_echo" in names and "example_otlp_explain" in names, f"tools listed: {len(names)}")

            r = await s.call_tool("testbed_echo", {"text": "from python"})
            check(not r.isError and r.structuredContent == {"text": "from python"}, "structured call result")

            seen = []

            async def on_progress(progress, total, message):
                seen.append(progress)

            r = await s.call_tool("testbed_progress", {"steps": 3, "delay_ms": 1}, progress_callback=on_progress)
            check(not r.isError and len(seen) >= 3, f"progress callbacks: {seen}")

            r = await s.call_tool("testbed_echo", {"text": 5})
            check(r.isError, "schema violation is an isError result")

            r = await s.call_tool("example_otlp_explain", {"endpoint": "http://localhost:4317"})
            check(not r.isError, "example toolset call")

            res = await s.list_resources()
            check(any(str(x.uri) == "testbed://info" for x in res.resources), "resources listed")
            body = await s.read_resource("testbed://info")
            check(len(body.contents) >= 1, "resource read")
            tmpl = await s.list_resource_templates()
            check(len(tmpl.resourceTemplates) >= 1, "resource templates listed")

            prompts = await s.list_prompts()
            p = next(x for x in prompts.prompts if x.name == "testbed-prompt")
            arg = p.arguments[0].name
            got = await s.get_prompt("testbed-prompt", {arg: "value"})
            check(len(got.messages) >= 1, "prompt rendered")

            await s.set_logging_level("debug")
            check(True, "logging/setLevel accepted")


def main():
    for path in (BIN, TESTBED, EXAMPLE):
        check(pathlib.Path(path).exists(), f"{path} exists (run cargo test first)")
    with tempfile.TemporaryDirectory(prefix="obi-mcp-py-") as home:
        asyncio.run(asyncio.wait_for(session(pathlib.Path(home)), timeout=120))


if __name__ == "__main__":
    main()
