"""Forms for marketing's scoring pages and the qualification-definition builder.

Persona conditions are edited as rows, a scoring rule as one form whose fields depend on
its kind, and a definition's rule trees as nested fieldsets whose inputs are named by their
place in the tree (``mql-0-2-event`` is the event of the third rule in the first group of the
MQL tree). So the server rebuilds the JSON from a plain POST, with or without JavaScript,
and every add, remove or change is one round trip that htmx swaps in place.
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.http import QueryDict

from leads import rules
from leads.conditions import LIST_OPERATORS, NO_VALUE_OPERATORS, NUMERIC_FIELDS, NUMERIC_OPERATORS, OPERATORS
from leads.models import LEAD_ATTRIBUTE_FIELDS, Persona, ScoringRule
from leads.scoring_admin import condition_problems

FIELD_CHOICES = list(LEAD_ATTRIBUTE_FIELDS.items())
OPERATOR_CHOICES = list(OPERATORS.items())
MAX_CONDITIONS = 30
CONDITIONS_PREFIX = "conditions"
CONDITION_KEYS = ("field", "op", "value", "weight")


# --- Values typed as text ---------------------------------------------------------------


def parse_number(text: str) -> Any:
    """A whole or decimal number from text; anything else is returned as typed, for the validator to name."""
    text = text.strip()
    if re.fullmatch(r"[-+]?\d{1,12}", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def condition_value(*, field: str, op: str, text: str) -> Any:
    """What a condition's value box means for its field and operator (lists are comma-separated)."""
    text = text.strip()
    if op in NO_VALUE_OPERATORS:
        return None
    if op in LIST_OPERATORS:
        items = [item.strip() for item in text.split(",") if item.strip()]
        return [parse_number(item) for item in items] if field in NUMERIC_FIELDS else items
    if op in NUMERIC_OPERATORS or field in NUMERIC_FIELDS:
        return parse_number(text)
    return text


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def parse_where(text: str) -> tuple[dict[str, str], str]:
    """``plan=pro, seats=10`` → {"plan": "pro", "seats": "10"}, or an error message."""
    where: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sign, value = item.partition("=")
        if not sign or not key.strip():
            return {}, f"Write the property filter as property=value (got {item!r})."
        where[key.strip()] = value.strip()
    return where, ""


def where_text(where: Any) -> str:
    if not isinstance(where, dict):
        return ""
    return ", ".join(f"{key}={value}" for key, value in where.items())


# --- Personas ---------------------------------------------------------------------------


class PersonaForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), help_text="Who this buyer is."
    )

    def __init__(self, *args: Any, persona: Persona | None = None, **kwargs: Any) -> None:
        self.persona = persona
        if persona is not None and "data" not in kwargs and not args:
            kwargs.setdefault("initial", {"name": persona.name, "description": persona.description})
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = Persona.objects.filter(name__iexact=name)
        if self.persona is not None:
            taken = taken.exclude(pk=self.persona.pk)
        if taken.exists():
            raise ValidationError("Another persona already has this name; choose another.")
        return name


class ConditionForm(forms.Form):
    field = forms.ChoiceField(choices=FIELD_CHOICES)
    op = forms.ChoiceField(choices=OPERATOR_CHOICES, label="Operator")
    value = forms.CharField(required=False, max_length=1000)
    weight = forms.IntegerField(min_value=1, max_value=1000, initial=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if any(key not in data for key in ("field", "op", "weight")):
            return data
        condition: dict[str, Any] = {"field": data["field"], "op": data["op"]}
        if data["op"] not in NO_VALUE_OPERATORS:
            condition["value"] = condition_value(field=data["field"], op=data["op"], text=data.get("value", ""))
        for problem in condition_problems(condition):
            self.add_error("value", problem)
        data["condition"] = {**condition, "weight": data["weight"]}
        return data


class BaseConditionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.conditions():
            raise ValidationError("Add at least one condition: a persona without conditions fits no one.")

    def conditions(self) -> list[dict[str, Any]]:
        return [form.cleaned_data["condition"] for form in self.forms if form.cleaned_data.get("condition")]


ConditionFormSet = forms.formset_factory(
    ConditionForm,
    formset=BaseConditionFormSet,
    extra=0,
    max_num=MAX_CONDITIONS,
    validate_max=True,
    absolute_max=MAX_CONDITIONS,
)


def condition_rows(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A persona's conditions as the rows' initial values."""
    return [
        {"field": c.get("field"), "op": c.get("op"), "value": value_text(c.get("value")), "weight": c.get("weight")}
        for c in conditions
    ]


def blank_condition() -> dict[str, Any]:
    return {"field": "industry", "op": "in", "value": "", "weight": 1}


def posted_condition_rows(data: QueryDict) -> list[dict[str, str]]:
    """The rows as typed, for re-showing them after a row is added or removed."""
    try:
        total = min(int(data.get(f"{CONDITIONS_PREFIX}-TOTAL_FORMS", "0")), MAX_CONDITIONS)
    except ValueError:
        total = 0
    return [{key: data.get(f"{CONDITIONS_PREFIX}-{i}-{key}", "") for key in CONDITION_KEYS} for i in range(total)]


def condition_rows_apply(rows: list[dict[str, Any]], action: str) -> tuple[list[dict[str, Any]], str]:
    """Add a row or remove one (``remove:2``); returns the rows and the id of what gets focus."""
    if action == "add" and len(rows) < MAX_CONDITIONS:
        rows = [*rows, blank_condition()]
        return rows, f"id_{CONDITIONS_PREFIX}-{len(rows) - 1}-field"
    kind, _, index = action.partition(":")
    if kind == "remove" and index.isdigit() and int(index) < len(rows):
        rows = [row for i, row in enumerate(rows) if i != int(index)]
    return rows, "add-condition"


# --- Scoring rules ----------------------------------------------------------------------


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ScoringRule.Kind.choices, label="Kind")
    event_type = forms.CharField(
        required=False, max_length=64, help_text="The event that earns points, e.g. webinar_attended."
    )
    property_key = forms.CharField(required=False, max_length=100, label="Property")
    property_value = forms.CharField(
        required=False, max_length=200, label="Property value", help_text="Compared as text."
    )
    points = forms.IntegerField(
        min_value=-1000, max_value=1000, help_text="Engagement: per event. Negative: taken off."
    )
    cap = forms.IntegerField(
        required=False, min_value=0, max_value=100_000, help_text="Most points this rule gives a lead. Empty: no cap."
    )
    half_life_days = forms.FloatField(
        required=False, label="Half-life (days)", help_text="An event's points halve every this many days. Empty: none."
    )
    values_text = forms.CharField(
        required=False,
        max_length=20_000,
        label="Values, one per line",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Free-mail domains (gmail.com) or competitor names and domains.",
    )

    def __init__(self, *args: Any, rule: ScoringRule | None = None, **kwargs: Any) -> None:
        self.rule = rule
        if rule is not None and "data" not in kwargs and not args:
            kwargs.setdefault("initial", rule_initial(rule))
        super().__init__(*args, **kwargs)

    @property
    def current_kind(self) -> str:
        kind = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        return kind if kind in ScoringRule.Kind.values else ScoringRule.Kind.ENGAGEMENT

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = ScoringRule.objects.filter(name__iexact=name)
        if self.rule is not None:
            taken = taken.exclude(pk=self.rule.pk)
        if taken.exists():
            raise ValidationError("Another rule already has this name; the score breakdown needs it unique.")
        return name

    def clean_half_life_days(self) -> float | None:
        days = self.cleaned_data.get("half_life_days")
        if days is not None and not 0 < days <= 3650:
            raise ValidationError("Give a half-life of more than 0 and at most 3650 days, or leave it empty.")
        return days

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind == ScoringRule.Kind.ENGAGEMENT:
            self._clean_engagement(data)
        elif kind:
            self._clean_negative(data, kind)
        return data

    def _clean_engagement(self, data: dict[str, Any]) -> None:
        event_type = data.get("event_type", "").strip()
        if not event_type:
            self.add_error("event_type", "Give the event type that earns points.")
        else:
            try:
                validate_slug(event_type)
            except ValidationError:
                self.add_error("event_type", "Use letters, digits, underscores or hyphens only (e.g. trial_started).")
        key, value = data.get("property_key", "").strip(), data.get("property_value", "").strip()
        if key and not value:
            self.add_error("property_value", "Give the value the property must have, or clear the property.")
        if value and not key:
            self.add_error("property_key", "Give the property's name, or clear the value.")
        if data.get("points") == 0:
            self.add_error("points", "A rule worth 0 points changes nothing; give points or deactivate it.")
        data["property_filter"] = {key: value} if key and value else {}
        data["values"] = []

    def _clean_negative(self, data: dict[str, Any], kind: str) -> None:
        points = data.get("points")
        if points is not None and points < 1:
            self.add_error("points", "Give the points to take off as a positive whole number.")
        values = list(dict.fromkeys(line.strip() for line in data.get("values_text", "").splitlines() if line.strip()))
        if kind != ScoringRule.Kind.UNSUBSCRIBED and not values:
            self.add_error("values_text", "List at least one domain or name, one per line.")
        if any(len(value) > 200 for value in values):
            self.add_error("values_text", "Keep each line under 200 characters.")
        if len(values) > 2000:
            self.add_error("values_text", "List at most 2,000 values.")
        data["values"] = values if kind != ScoringRule.Kind.UNSUBSCRIBED else []
        data["property_filter"] = {}

    def rule_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "event_type": data.get("event_type", "").strip(),
            "property_filter": data["property_filter"],
            "points": data["points"],
            "cap": data.get("cap"),
            "half_life_days": data.get("half_life_days"),
            "values": data["values"],
        }


def rule_initial(rule: ScoringRule) -> dict[str, Any]:
    key, value = next(iter((rule.property_filter or {}).items()), ("", ""))
    return {
        "name": rule.name,
        "kind": rule.kind,
        "event_type": rule.event_type,
        "property_key": key,
        "property_value": value_text(value),
        "points": rule.points,
        "cap": rule.cap,
        "half_life_days": rule.half_life_days,
        "values_text": "\n".join(str(v) for v in rule.values or []),
    }


# --- Qualification definitions ----------------------------------------------------------


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
        for index in range(MAX_CHILDREN if depth <= rules.MAX_DEPTH else 0):
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
            errors = rules.tree_errors(tree)
            for message in errors:
                path, text = self._error_path(prefix, message)
                self.problems.setdefault(path, []).append(text)
            if not errors:
                self._check_numeric_lists(tree, prefix)
        return not self.problems

    def _check_numeric_lists(self, node: dict[str, Any], path: str) -> None:
        """tree_errors lets ``company_size is one of ten`` through; the SQL would fail on it."""
        if node["op"] == "attr":
            condition = {"field": node["field"], "op": node["cmp"], "value": node.get("value")}
            for problem in condition_problems(condition):
                self.problems.setdefault(path, []).append(problem)
        for index, child in enumerate(_children(node)):
            self._check_numeric_lists(child, f"{path}-{index}")

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
            kids = _children(node) if depth <= rules.MAX_DEPTH else []
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
        view["sentence"] = rules.describe(node) if op in LEAF_OPS and not rules.tree_errors(node) else ""
        return view
