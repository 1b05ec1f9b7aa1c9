"""The definition builder's forms: the version's name and notes, and TreeBuilder, which turns
the posted builder fields into MQL and SQL rule trees (and back), applies the add / remove /
move actions of the page and reports problems per node.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict

from leads.conditions import (
    NO_VALUE_OPERATORS,
    condition_value,
    parse_number,
    parse_where,
    value_text,
    where_text,
)
from leads.qualification import trees


class DefinitionMetaForm(forms.Form):
    name = forms.CharField(required=False, max_length=200, help_text="A short title, e.g. “Webinar + trial”.")
    notes = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this version: what changed and what both teams agreed.",
    )


TREES = {"mql": "MQL", "sql": "SQL"}


GROUP_OPS = {"all": "All of these hold", "any": "Any of these holds", "not": "None of these holds"}


LEAF_OPS = {
    "has_event": "Has event",
    "event_after": "Event after another event",
    "fit_gte": "Fit is at least",
    "score_gte": "Score is at least",
    "attr": "Attribute",
}


NEW_NODES: dict[str, dict[str, Any]] = {
    "has_event": {"op": "has_event", "event": ""},
    "event_after": {"op": "event_after", "event": "", "after": ""},
    "fit_gte": {"op": "fit_gte", "value": 60},
    "score_gte": {"op": "score_gte", "value": 50},
    "attr": {"op": "attr", "field": "country", "cmp": "in", "value": []},
    "all": {"op": "all", "children": []},
    "any": {"op": "any", "children": []},
    "not": {"op": "not"},
}


MAX_CHILDREN = 30


MAX_JSON = 20_000


PATH_RE = re.compile(r"^(mql|sql)(-\d{1,2}){0,9}$")


ERROR_PATH_RE = re.compile(r"^((?:children\.\d+|child)(?:\.(?:children\.\d+|child))*): (.*)$", re.S)


def _children(node: Any) -> list[Any]:
    """A group's children (a `not` has at most one); anything else has none."""
    if not isinstance(node, dict):
        return []
    if node.get("op") == "not":
        return [node["child"]] if isinstance(node.get("child"), dict) else []
    children = node.get("children")
    return children if node.get("op") in ("all", "any") and isinstance(children, list) else []


def _set_children(node: dict[str, Any], children: list[Any]) -> None:
    if node["op"] != "not":
        node["children"] = children
    elif not children:
        node.pop("child", None)
    else:
        # "None of these" over several rules is "not any of them".
        node["child"] = children[0] if len(children) == 1 else {"op": "any", "children": children}


def readable_path(path: str) -> str:
    """``mql-0-2`` → ``MQL › 1 › 3`` for error lists."""
    prefix, *indices = path.split("-")
    return " › ".join([TREES[prefix], *(str(int(i) + 1) for i in indices)])


@dataclass
class TreeBuilder:
    """The MQL and SQL trees being edited, with problems per node path and where focus goes."""

    trees: dict[str, dict[str, Any]]
    problems: dict[str, list[str]] = field(default_factory=dict)
    json_text: dict[str, str] = field(default_factory=dict)
    json_applied: set[str] = field(default_factory=set)
    focus: str = ""

    @classmethod
    def from_trees(cls, *, mql: dict[str, Any], sql: dict[str, Any]) -> "TreeBuilder":
        return cls(trees={"mql": mql or {}, "sql": sql or {}})

    @classmethod
    def from_post(cls, data: QueryDict) -> "TreeBuilder":
        builder = cls(trees={})
        for prefix in TREES:
            builder.trees[prefix] = builder._node_from_post(data, prefix, 0) if data.get(f"{prefix}-op") else {}
            if builder._json_edited(data, prefix):
                # The advanced box was edited and not applied yet: it wins over the rows above it.
                builder._apply_json(prefix, data.get(f"{prefix}-json", ""))
        return builder

    @staticmethod
    def _json_edited(data: QueryDict, prefix: str) -> bool:
        typed, shown = data.get(f"{prefix}-json"), data.get(f"{prefix}-json-shown")
        if typed is None or shown is None:
            return False
        try:
            return json.loads(typed or "{}") != json.loads(shown or "{}")
        except (ValueError, RecursionError):
            return True

    # Reading the POST ---------------------------------------------------------------

    def _node_from_post(self, data: QueryDict, path: str, depth: int) -> dict[str, Any]:
        op = data.get(f"{path}-op", "")
        if op not in GROUP_OPS:
            return self._leaf_from_post(data, path, op)
        children = []
        for index in range(MAX_CHILDREN if depth <= trees.MAX_DEPTH else 0):
            if f"{path}-{index}-op" not in data:
                break
            children.append(self._node_from_post(data, f"{path}-{index}", depth + 1))
        node: dict[str, Any] = {"op": op}
        _set_children(node, children)
        return node

    def _leaf_from_post(self, data: QueryDict, path: str, op: str) -> dict[str, Any]:
        def get(name: str) -> str:
            return data.get(f"{path}-{name}", "").strip()

        if op in ("fit_gte", "score_gte"):
            return {"op": op, "value": parse_number(get("value"))}
        if op == "attr":
            node = {"op": "attr", "field": get("field"), "cmp": get("cmp")}
            if node["cmp"] not in NO_VALUE_OPERATORS:
                node["value"] = condition_value(field=node["field"], op=node["cmp"], text=get("value"))
            return node
        if op not in ("has_event", "event_after"):
            return {"op": op}
        node = {"op": op, "event": get("event")}
        if op == "event_after":
            node["after"] = get("after")
        where, problem = parse_where(get("where"))
        if problem:
            self.problems.setdefault(path, []).append(problem)
        if where:
            node["where"] = where
        for key in ("within_days", "min_count") if op == "has_event" else ():
            if get(key):
                node[key] = parse_number(get(key))
        return node

    # Actions ---------------------------------------------------------------------------

    def apply(self, action: str, data: QueryDict) -> None:
        """``add:<path>`` (kind from ``add-<path>``), ``remove:<path>``, ``json:<mql|sql>``; else nothing."""
        kind, _, path = action.partition(":")
        if kind == "json" and path in TREES and path not in self.json_applied:
            self._apply_json(path, data.get(f"{path}-json", ""))
        elif kind in ("add", "remove") and PATH_RE.match(path):
            prefix, *indices = path.split("-")
            indices = [int(i) for i in indices]
            if kind == "add":
                self._add(prefix, indices, data.get(f"add-{path}", ""))
            else:
                self._remove(prefix, indices)

    def _node_at(self, prefix: str, indices: list[int]) -> Any:
        node: Any = self.trees[prefix]
        for index in indices:
            children = _children(node)
            if index >= len(children):
                return None
            node = children[index]
        return node

    def _add(self, prefix: str, indices: list[int], new_op: str) -> None:
        if new_op not in NEW_NODES:
            return
        new = json.loads(json.dumps(NEW_NODES[new_op]))
        path = "-".join([prefix, *map(str, indices)])
        if not indices and not self.trees[prefix]:
            # A first rule goes inside an "all of" group, so the next one has somewhere to go.
            self.trees[prefix] = new if new_op in GROUP_OPS else {"op": "all", "children": [new]}
            self.focus = f"{prefix}-op" if new_op in GROUP_OPS else f"{prefix}-0-op"
            return
        group = self._node_at(prefix, indices)
        if not isinstance(group, dict) or group.get("op") not in GROUP_OPS:
            return
        children = _children(group)
        if len(children) >= MAX_CHILDREN or (group["op"] == "not" and children):
            return
        _set_children(group, [*children, new])
        self.focus = f"{path}-{len(children)}-op"

    def _remove(self, prefix: str, indices: list[int]) -> None:
        if not indices:
            self.trees[prefix] = {}
            self.focus = f"add-{prefix}"
            return
        parent = self._node_at(prefix, indices[:-1])
        children = _children(parent)
        if isinstance(parent, dict) and indices[-1] < len(children):
            _set_children(parent, [c for i, c in enumerate(children) if i != indices[-1]])
            self.focus = "add-" + "-".join([prefix, *map(str, indices[:-1])])

    def _apply_json(self, prefix: str, text: str) -> None:
        self.json_applied.add(prefix)
        text = text.strip()
        if len(text) > MAX_JSON:
            self._json_problem(prefix, text, f"Keep the JSON under {MAX_JSON:,} characters.")
            return
        try:
            tree = json.loads(text) if text else {}
        except (ValueError, RecursionError) as error:
            self._json_problem(prefix, text, f"That is not valid JSON: {error}.")
            return
        if not isinstance(tree, dict):
            self._json_problem(prefix, text, 'The tree must be a JSON object, like {"op": "all", "children": [...]}.')
            return
        self.trees[prefix] = tree
        self.focus = f"{prefix}-json"

    def _json_problem(self, prefix: str, text: str, message: str) -> None:
        self.problems.setdefault(f"{prefix}-json", []).append(message)
        self.json_text[prefix] = text
        self.focus = f"{prefix}-json"

    # Validation ------------------------------------------------------------------------

    def validate(self) -> bool:
        """Add every tree_errors message to the node it names; True when both trees are valid."""
        for prefix, tree in self.trees.items():
            if not tree:
                continue
            for message in trees.tree_errors(tree):
                path, text = self._error_path(prefix, message)
                self.problems.setdefault(path, []).append(text)
        return not self.problems

    def _error_path(self, prefix: str, message: str) -> tuple[str, str]:
        match = ERROR_PATH_RE.match(message)
        if not match:
            return prefix, message
        parts = [prefix]
        for step in match.group(1).split("."):
            if step == "child":
                parts.append("0")
            elif step.isdigit():
                parts.append(step)
        path = "-".join(parts)
        # A missing node (a "not" with nothing inside) reports at its nearest parent.
        while self._node_at(prefix, [int(i) for i in path.split("-")[1:]]) is None and "-" in path:
            path = path.rsplit("-", 1)[0]
        return path, match.group(2)

    # Rendering -------------------------------------------------------------------------

    def error_list(self) -> list[dict[str, str]]:
        out = []
        for path, messages in self.problems.items():
            prefix = path.split("-")[0]
            where = f"{TREES[prefix]} JSON" if path.endswith("-json") else readable_path(path)
            out.extend({"path": path, "where": where, "message": message} for message in messages)
        return out

    def sections(self) -> list[dict[str, Any]]:
        return [
            {
                "prefix": prefix,
                "label": label,
                "root": self._node_view(self.trees[prefix], prefix, 0) if self.trees[prefix] else None,
                "json": self.json_text.get(prefix) or json.dumps(self.trees[prefix], indent=2, ensure_ascii=False),
                "json_shown": json.dumps(self.trees[prefix], ensure_ascii=False),
                "json_errors": self.problems.get(f"{prefix}-json", []),
                "json_focus": self.focus == f"{prefix}-json",
                "add_focus": self.focus == f"add-{prefix}",
            }
            for prefix, label in TREES.items()
        ]

    def _node_view(self, node: Any, path: str, depth: int) -> dict[str, Any]:
        node = node if isinstance(node, dict) else {}
        op = node.get("op", "")
        view: dict[str, Any] = {"path": path, "op": op, "errors": self.problems.get(path, []), "depth": depth}
        view["focus"] = self.focus == f"{path}-op"
        if op in GROUP_OPS:
            kids = _children(node) if depth <= trees.MAX_DEPTH else []
            view["is_group"] = True
            view["children"] = [self._node_view(c, f"{path}-{i}", depth + 1) for i, c in enumerate(kids)]
            view["can_add"] = len(kids) < MAX_CHILDREN and not (op == "not" and kids)
            view["add_focus"] = self.focus == f"add-{path}"
            return view
        view["is_group"] = False
        view["values"] = {
            "value": value_text(node.get("value")),
            "event": str(node.get("event") or ""),
            "after": str(node.get("after") or ""),
            "where": where_text(node.get("where")),
            "within_days": value_text(node.get("within_days")),
            "min_count": value_text(node.get("min_count")),
            "field": str(node.get("field") or ""),
            "cmp": str(node.get("cmp") or ""),
        }
        view["sentence"] = trees.describe(node) if op in LEAF_OPS and not trees.tree_errors(node) else ""
        return view
