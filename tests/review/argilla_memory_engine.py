"""An in-memory search engine for the Argilla server, for tests only.

Argilla 2.8 needs Elasticsearch or OpenSearch, which cannot run on a test machine. The server picks its engine by
`ARGILLA_SEARCH_ENGINE` from the classes registered with `@SearchEngine.register(engine_name=...)`, so this module,
imported in the server process before it starts (see `argilla_launcher.py`), plugs in as `memory` without editing
the server. It keeps one dict of documents per dataset (the same documents the Elasticsearch engine indexes) and
answers searches by walking them: fine for the few hundred records a test pushes, not for production.

It runs inside the server's own virtual environment, so it imports `argilla_server` and nothing of `curate`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from argilla_server.enums import MetadataPropertyType, ResponseStatusFilter, SimilarityOrder, SortOrder
from argilla_server.search_engine.base import (
    AndFilter,
    FloatMetadataMetrics,
    IntegerMetadataMetrics,
    MetadataFilterScope,
    Order,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SearchEngine,
    SearchResponseItem,
    SearchResponses,
    SuggestionFilterScope,
    TermsFilter,
    TermsMetrics,
    TextQuery,
)

ENGINE_NAME = "memory"

# dataset id -> record id -> document; record id -> dataset id. Module-level: the server makes a new engine
# instance per request, and all of them must see the same data (one server process, one event loop).
_INDEXES: dict[str, dict[str, dict[str, Any]]] = {}
_DATASET_OF: dict[str, str] = {}


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def _response_doc(response) -> dict[str, Any]:
    return {
        "id": str(response.id),
        "status": _value(response.status),
        "user_id": str(response.user_id),
        "values": {question: (value or {}).get("value") for question, value in (response.values or {}).items()},
    }


def _record_doc(record) -> dict[str, Any]:
    """The document of a record, as Elasticsearch would store it (relations are preloaded by the server)."""
    return {
        "id": str(record.id),
        "external_id": record.external_id,
        "fields": dict(record.fields or {}),
        "status": _value(record.status),
        "inserted_at": record.inserted_at,
        "updated_at": record.updated_at,
        "metadata": dict(record.metadata_ or {}),
        "responses": [_response_doc(r) for r in record.responses or []],
        "suggestions": {
            s.question.name: {"type": _value(s.type), "agent": s.agent, "score": s.score, "value": s.value}
            for s in record.suggestions or []
        },
        "vectors": {str(v.vector_settings_id): list(v.value) for v in record.vectors or []},
    }


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _in_terms(value: Any, terms: list[str]) -> bool:
    wanted = {str(t) for t in terms}
    return any(str(_value(v)) in wanted for v in _as_list(value))


def _in_range(value: Any, ge: float | None, le: float | None) -> bool:
    numbers = [v for v in _as_list(value) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return any((ge is None or v >= ge) and (le is None or v <= le) for v in numbers)


def _user_responses(doc: dict, scope: ResponseFilterScope) -> list[dict]:
    responses = doc["responses"]
    if scope.user is not None:
        responses = [r for r in responses if r["user_id"] == str(scope.user.id)]
    return responses


def _scope_value(doc: dict, scope: Any) -> Any:
    if isinstance(scope, MetadataFilterScope):
        return doc["metadata"].get(scope.metadata_property)
    if isinstance(scope, SuggestionFilterScope):
        return (doc["suggestions"].get(scope.question) or {}).get(scope.property)
    if isinstance(scope, RecordFilterScope):
        return doc.get(scope.property)
    raise ValueError(f"cannot read scope {scope}")


def _matches(doc: dict, flt: Any) -> bool:
    if flt is None:
        return True
    if isinstance(flt, AndFilter):
        return all(_matches(doc, f) for f in flt.filters)
    scope = flt.scope
    if isinstance(scope, ResponseFilterScope):
        responses = _user_responses(doc, scope)
        if scope.question:
            values = [r["values"].get(scope.question) for r in responses]
            if isinstance(flt, TermsFilter):
                return any(_in_terms(v, flt.values) for v in values)
            return any(_in_range(v, flt.ge, flt.le) for v in values)
        if scope.property == "status" and isinstance(flt, TermsFilter):
            statuses = {str(_value(v)) for v in flt.values}
            pending = ResponseStatusFilter.pending.value in statuses and not responses
            return pending or any(r["status"] in statuses for r in responses)
        raise ValueError(f"cannot filter on response scope {scope}")
    value = _scope_value(doc, scope)
    if isinstance(flt, TermsFilter):
        return _in_terms(value, flt.values)
    if isinstance(flt, RangeFilter):
        return _in_range(value, flt.ge, flt.le)
    raise ValueError(f"cannot process filter {flt}")


def _text_matches(doc: dict, query: TextQuery | str | None) -> bool:
    """All words of the query appear in the field (or in any field), ignoring case: a simple `simple_query_string`."""
    if query is None:
        return True
    if isinstance(query, str):
        query = TextQuery(q=query)
    texts = [doc["fields"].get(query.field)] if query.field else list(doc["fields"].values())
    haystack = " ".join(str(t) for t in texts if t is not None).lower()
    return all(word in haystack for word in str(query.q).lower().split())


def _sort_key(doc: dict, order: Order) -> Any:
    scope = order.scope
    if isinstance(scope, ResponseFilterScope):
        name = scope.question or scope.property
        values = [r["values"].get(name) if scope.question else r.get(name) for r in _user_responses(doc, scope)]
        numbers = [v for v in values if isinstance(v, (int, float))]
        return sum(numbers) / len(numbers) if numbers else (values[0] if values else None)
    value = _scope_value(doc, scope)
    return value[0] if isinstance(value, list) and value else value


def _sorted(docs: list[dict], sort: list[Order] | None) -> list[dict]:
    for order in reversed(sort or []):  # stable sorts, last key first
        present = [d for d in docs if _sort_key(d, order) is not None]
        missing = [d for d in docs if _sort_key(d, order) is None]
        present.sort(key=lambda d: _sort_key(d, order), reverse=_value(order.order) == SortOrder.desc.value)
        docs = present + missing  # missing values last, as Elasticsearch does
    return docs


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


@SearchEngine.register(engine_name=ENGINE_NAME)
class MemorySearchEngine(SearchEngine):
    """Every method of the base class, over the module's dicts."""

    @classmethod
    async def new_instance(cls) -> MemorySearchEngine:
        return cls()

    async def close(self):
        pass

    async def ping(self) -> bool:
        return True

    async def info(self) -> dict:
        return {"engine": ENGINE_NAME, "datasets": len(_INDEXES)}

    # indexes ----------------------------------------------------------------------------------------------------
    async def create_index(self, dataset):
        _INDEXES.setdefault(str(dataset.id), {})

    async def delete_index(self, dataset):
        for record_id in _INDEXES.pop(str(dataset.id), {}):
            _DATASET_OF.pop(record_id, None)

    async def configure_metadata_property(self, dataset, metadata_property):
        pass  # documents are schemaless here

    async def configure_index_vectors(self, vector_settings):
        pass

    # records ----------------------------------------------------------------------------------------------------
    async def index_records(self, dataset, records: Iterable):
        index = _INDEXES.setdefault(str(dataset.id), {})
        for record in records:
            index[str(record.id)] = _record_doc(record)
            _DATASET_OF[str(record.id)] = str(dataset.id)

    def _doc(self, record_id: Any) -> dict | None:
        dataset_id = _DATASET_OF.get(str(record_id))
        return _INDEXES.get(dataset_id, {}).get(str(record_id)) if dataset_id else None

    async def partial_record_update(self, record, **update):
        doc = self._doc(record.id)
        if doc is not None:
            doc.update({k: _value(v) for k, v in update.items()})

    async def delete_records(self, dataset, records: Iterable):
        index = _INDEXES.get(str(dataset.id), {})
        for record in records:
            index.pop(str(record.id), None)
            _DATASET_OF.pop(str(record.id), None)

    async def update_record_response(self, response):
        doc = self._doc(response.record_id)
        if doc is not None:
            doc["responses"] = [r for r in doc["responses"] if r["id"] != str(response.id)] + [_response_doc(response)]

    async def delete_record_response(self, response):
        doc = self._doc(response.record_id)
        if doc is not None:
            doc["responses"] = [r for r in doc["responses"] if r["id"] != str(response.id)]

    async def update_record_suggestion(self, suggestion):
        doc = self._doc(suggestion.record_id)
        if doc is not None:
            doc["suggestions"][suggestion.question.name] = {
                "type": _value(suggestion.type),
                "agent": suggestion.agent,
                "score": suggestion.score,
                "value": suggestion.value,
            }

    async def delete_record_suggestion(self, suggestion):
        doc = self._doc(suggestion.record_id)
        if doc is not None:
            doc["suggestions"].pop(suggestion.question.name, None)

    # progress and metrics ---------------------------------------------------------------------------------------
    async def get_dataset_progress(self, dataset) -> dict:
        if dataset.is_draft:
            return {}
        docs = _INDEXES.get(str(dataset.id), {}).values()
        out: dict[str, int] = {"total": 0}
        for doc in docs:
            out["total"] += 1
            out[doc["status"]] = out.get(doc["status"], 0) + 1
        return out

    async def get_dataset_user_progress(self, dataset, user) -> dict:
        if dataset.is_draft:
            return {}
        out: dict[str, int] = {"total": 0}
        for doc in _INDEXES.get(str(dataset.id), {}).values():
            for response in doc["responses"]:
                if response["user_id"] == str(user.id):
                    out["total"] += 1
                    out[response["status"]] = out.get(response["status"], 0) + 1
        return out

    async def compute_metrics_for(self, metadata_property):
        docs = _INDEXES.get(str(metadata_property.dataset.id), {}).values()
        values = [v for d in docs for v in _as_list(d["metadata"].get(metadata_property.name))]
        kind = _value(metadata_property.type)
        if kind == MetadataPropertyType.terms.value:
            counts: dict[str, int] = {}
            for v in values:
                counts[str(v)] = counts.get(str(v), 0) + 1
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            return TermsMetrics(total=len(values), values=[TermsMetrics.TermCount(term=t, count=c) for t, c in ordered])
        numbers = [v for v in values if isinstance(v, (int, float))]
        cls = IntegerMetadataMetrics if kind == MetadataPropertyType.integer.value else FloatMetadataMetrics
        return cls(min=min(numbers) if numbers else None, max=max(numbers) if numbers else None)

    # search -----------------------------------------------------------------------------------------------------
    async def search(
        self, dataset, query=None, filter=None, sort=None, offset: int = 0, limit: int = 100, user_id=None
    ) -> SearchResponses:
        docs = [
            d for d in _INDEXES.get(str(dataset.id), {}).values() if _text_matches(d, query) and _matches(d, filter)
        ]
        docs = _sorted(docs, sort)
        items = [SearchResponseItem(record_id=d["id"], score=1.0) for d in docs[offset : offset + limit]]
        return SearchResponses(items=items, total=len(docs))

    async def similarity_search(
        self,
        dataset,
        vector_settings,
        value=None,
        record=None,
        query=None,
        filter=None,
        max_results: int = 100,
        order=SimilarityOrder.most_similar,
        threshold=None,
    ) -> SearchResponses:
        if bool(value) == bool(record):
            raise ValueError("Must provide either vector value or record to compute the similarity search")
        key = str(vector_settings.id)
        if not value:
            value = (self._doc(record.id) or {}).get("vectors", {}).get(key)
        if not value:
            raise ValueError("Cannot find a vector value to apply with provided info")
        scored = []
        for doc in _INDEXES.get(str(dataset.id), {}).values():
            if record is not None and doc["id"] == str(record.id):
                continue
            vector = doc["vectors"].get(key)
            if vector is None or not _text_matches(doc, query) or not _matches(doc, filter):
                continue
            scored.append((_cosine(value, vector), doc["id"]))
        scored.sort(key=lambda s: s[0], reverse=_value(order) != SimilarityOrder.least_similar.value)
        if threshold is not None:
            scored = [s for s in scored if s[0] >= threshold]
        items = [SearchResponseItem(record_id=i, score=s) for s, i in scored[:max_results]]
        return SearchResponses(items=items, total=len(items))
