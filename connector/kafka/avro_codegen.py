"""What the compiled Avro writers and readers are made with: the lines of one generated function, fresh
local names, constants handed to it by name, and the step that compiles it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FunctionSource:
    def __init__(self, helpers: Mapping[str, Any]) -> None:
        self.helpers = dict(helpers)  # the names the generated code may use
        self.lines: list[str] = []
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def constant(self, value: Any) -> str:
        name = self.fresh("c")
        self.helpers[name] = value
        return name

    def build(self, signature: str, prologue: list[str], result: str, label: str) -> Any:
        """`def <signature>:` with the prologue, the lines, then `return <result>`; compiled as `label`."""
        body = [f"    {line}" for line in prologue] + self.lines + [f"    return {result}"]
        namespace = dict(self.helpers)
        exec(compile(f"def {signature}:\n" + "\n".join(body) + "\n", label, "exec"), namespace)
        return namespace[signature.partition("(")[0]]
