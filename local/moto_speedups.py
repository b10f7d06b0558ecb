"""Speed-ups of the local cloud that change no answer.

**Scan.** moto (5.2) deep-copies every scanned item and measures it twice before it applies the
FilterExpression, so a filtered scan costs as much as reading the whole table back. The
nightly sweep filters out almost every member, and a rehearsal runs it hundreds of times:
this scan judges each item first and copies only the ones it returns. moto also sorts the whole
table for every page and walks it from the start to the page's first key, so a scan of a table
cost its size squared: here a table is sorted again only after a put or a delete (an update never
changes a key), a page starts by bisection, an item's size is kept until it changes, and a
projection of top-level names copies strings as they are (moto's round trip through plain values
gives them back unchanged; other values still take it) and checks the new item's size once, not
once per attribute, nor at all when only strings of an item within the limit were copied (a
test compares both scans on items of every type, and one that outgrows the limit). A projected
item is kept on the stored one until an update changes it (the sweep projects the same members
night after night), each answer a new item of its own. Pages,
``Limit``, the 1 MB page size, segments, ``ScannedCount`` and ``LastEvaluatedKey`` are moto's; a
test compares both scans on random tables. Scans with an index or the legacy ``ScanFilter`` go to
moto's own code.

**Service models.** botocore reads and parses a service's JSON model once per session; every
function copy, the cloud and the tests make sessions of their own, so a test paid about 0.2 s
of parsing per client. Every session here shares one loader (per data path), as the clients
of one session always do: the models are read-only, so no client can tell.

**Dispatch.** moto's server lists its own package folder (a directory listing and a stat of
each of its 150-odd services) for every request, to tell a service named as the host: about
2 ms of the 6 an AWS call took. The list never changes while the server runs; it is made once.

**In-process calls.** A client of this process (a handler, the cloud, a test) whose endpoint is
the local cloud's is answered by the moto server's own application, called in-process: the
same request bytes, URL, headers and signature, the same answer, minus the socket, the HTTP
server and urllib3 - half of what a call cost. Clients of other processes (an operator's tools on
``make serve``) still call over HTTP, and so does anything that opens a connection itself.

**Transactions.** moto backs up every table a transaction touches with a deep copy, and swaps
the copies in when it fails: the cost grows with the tables, and the swap leaves DynamoDB
Streams' iterators on the old copy's stream (they deliver the cancelled writes, then nothing
more). Here moto's own transaction runs with its backups replaced by a journal: each write saves
the item it changes first, and a failed transaction puts those items back and drops its stream
records, so every table is as it was, the same objects. A test compares both with moto's answers.

**JSON answers.** moto writes every answer by walking the operation's output shape, and for every
member of every value it builds a context object and tries up to six alias providers to find the
value: a page of a Scan cost a second, the greater part of a rehearsal of 100,000 members. Here
``JSONSerializer._serialize_result`` is the same walk made once per shape: each structure lists the
names moto's picker would try (asked of moto's own picker), and a value with one key, an attribute
value, goes straight to its member. Only results made of dicts and lists, from DynamoDB, its
streams and SQS, take it; an object, a picker with transformers, or anything it does not expect
goes to moto's own serializer. Two tests compare the bytes: random values for every output shape
of the three services, and every answer moto gives to real calls on random items.

**JSON requests.** moto reads a request's JSON body the same way, walking the input shape and
looking up a method for every value; here ``JSONParser._do_parse`` is made of functions made once
per shape (an attribute value goes straight to its member), for the same three services. Any body
they do not expect (not a dict where moto wants one, say) goes to moto's parser. Tests compare
the parameters, and failures, on random bodies for every operation and on real calls.

**Handler methods.** For every request moto lists its handler class's methods
(``inspect.getmembers``) and turns the action's name into a method's: both are the same every
time, so each is worked out once (a class, a name).

**FilterExpressions.** moto parses a Scan's FilterExpression twice a request (to check its names,
then to run it) and walks the tree for every item, casting each value again: the sweep sends the
same expression, an OR of seven ANDs, for every page of the night. Here the latest 512
expressions parsed are kept (by their text, names and values; what parse found is handed over as
it would find it; one that fails is parsed, and fails, every time), and a Scan matches items
with one Python function written once from the tree: AND, OR, NOT, attribute_exists and
comparisons of top-level attributes and constants, the constants worked out once and an attribute
named more than once looked up and cast once an item; any other node is called. Tests compare
matches, and errors, with moto's on random expressions and items and on the sweep's own.

**Event paths.** moto's EventBridge parses a target's InputPaths with jsonpath_ng for every event
it delivers, and jsonpath_ng builds a new parser (its PLY tables) for every path: a path is parsed
once here (the parsed path is only read). A test compares what the paths find.

**The rest of a request.** moto parses an UpdateExpression twice a request: it is parsed once
(its validators deep-copy the tree before they change anything). DynamoResult's ``dynamo_to_dict``
answers dicts, lists, strings and string attributes without its chain of type checks. And every
answer was searched with a regular expression for an XML <RequestId> to replace: a body without
that text is left as it is (the same headers, the same draw of a request id). Tests compare each
with moto's own.

**Update validators.** moto checks and works out an UpdateExpression with ten tree walkers, and each
builds its map of node types to methods (a new dict of bound methods) twice for every node of the
tree it walks: to list the types, then to pick the method. A walker's map is the same for its
life; it is built once here. The update test above runs with it, against moto's own.

**KMS keys.** moto makes an RSA key pair for every KMS key it creates, a symmetric one too, and
DynamoDB creates its AWS managed key with the first encrypted table of an account: a new RSA-2048
pair at every deploy, a third of what a deploy cost. The pair is made when first used here (a
signature, a verification, the public key), the same way. A test signs and verifies with it.

**Write counts.** Every write to a moto table (put, update, delete, alone, in a batch or in a
transaction) is counted by table name, so the TTL reaper reads again only a table that was
written to since it last read it, instead of every table at every step of the clock.
"""
from __future__ import annotations

import base64
import bisect
import copy
import functools
import inspect
import itertools
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from contextlib import suppress
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import botocore.endpoint
import botocore.loaders
import botocore.session
import jsonpath_ng.ext
import moto.backends
import moto.core.responses
import moto.dynamodb.models as moto_models
import moto.dynamodb.responses as moto_responses
import moto.kms.models as moto_kms
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.core.parse import BaseJSONParser, JSONParser, RequestParser, default_blob_parser, default_timestamp_parser
from moto.core.serialize import (
    DEFAULT_ALIAS_PROVIDERS,
    AttributePickerContext,
    BaseJSONSerializer,
    JSONSerializer,
    ResponseDict,
    ResponseSerializer,
    TimestampSerializer,
    XFormedAttributePicker,
)
from moto.dynamodb import comparisons
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as moto_table
from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict, deserializer, serializer
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.utilities.aws_headers import gen_amzn_requestid_long
from werkzeug.test import EnvironBuilder, run_wsgi_app

_moto_scan = moto_table.Table.scan
_moto_all_items = moto_table.Table.all_items
_SORTED = "_local_sorted_items"  # on a moto Table: its items as all_items sorts them
_SIZE = "_local_size"  # on a moto Item: its size, until an update changes it in place
_PROJECTED = "_local_projected"  # on a moto Item: (a projection, the item it makes), until an update
ITEM_SIZE_LIMIT = 405000  # LimitedSizeDict's
_moto_cast_value = DynamoType.cast_value
_moto_modules = moto.backends.list_of_moto_modules
_send_over_http = botocore.endpoint.Endpoint._send
_served: dict[str, Any] = {}  # endpoint URL -> the moto server's WSGI application
_moto_put, _moto_delete = moto_table.Table.put_item, moto_table.Table.delete_item
_moto_update, _moto_transact = DynamoDBBackend.update_item, DynamoDBBackend.transact_write_items
write_counts: Counter[str] = Counter()  # table name -> writes so far (including refused ones)
_own_create_loader = botocore.session.create_loader
_loaders: dict[str | None, botocore.loaders.Loader] = {}
_loaders_lock = threading.Lock()
_moto_serialize_result = JSONSerializer._serialize_result
_moto_do_parse = JSONParser._do_parse
_moto_method_names = moto.core.responses.method_names_from_class
_moto_underscores = moto.core.responses.camelcase_to_underscores
_method_names: dict[Any, list[str]] = {}  # a response class -> the names of its methods
_moto_parse = comparisons.ConditionExpressionParser.parse
_parsed: OrderedDict[str, tuple[Any, list[str], list[str]]] = OrderedDict()  # the latest expressions parsed
_parsed_lock = threading.Lock()
PARSED_KEPT = 512
_MATCH = "_local_match"  # on a moto Op: the function that answers its expr(item)
FAST_JSON_SERVICES = frozenset({"dynamodb", "dynamodbstreams", "sqs"})  # the ones the tests compare


def lean_scan(self: moto_table.Table, filters: dict[str, Any], limit: int, exclusive_start_key: dict[str, Any],
              filter_expression: Any = None, index_name: str | None = None, consistent_read: bool = False,
              projection_expression: list[list[str]] | None = None,
              segments: tuple[None, None] | tuple[int, int] = (None, None),
              ) -> tuple[list[moto_table.Item], int, dict[str, Any] | None]:
    if index_name or filters:
        return _moto_scan(self, filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read,
                          projection_expression, segments)
    hash_attrs, range_attrs = [self.hash_key_attr], [self.range_key_attr]
    results: list[moto_table.Item] = []
    scanned_count, scanned_size = 0, 0
    last_scanned, last_evaluated_key = None, None
    items = _sorted(self)  # read, never changed: a put or a delete makes a new list
    first = 0
    if exclusive_start_key is not None:  # the items are sorted: the page starts where moto's skipping ends
        first = bisect.bisect_left(items, True, key=lambda item: not self._item_comes_before_dct(
            item, exclusive_start_key, hash_attrs, range_attrs, True))
    whole = segments in ((None, None), (0, 1))  # segment 0 of 1 holds every item: no hash to compute
    match = None if filter_expression is None else matcher(filter_expression)
    projection = None if not projection_expression else tuple(tuple(path) for path in projection_expression)
    size_limit = moto_table.RESULT_SIZE_LIMIT
    for item in itertools.islice(items, first, None):
        if not whole and not item.is_within_segment(segments):
            continue
        kept = item.__dict__
        size = kept.get(_SIZE)
        if size is None:
            size = kept[_SIZE] = item.size()
        if scanned_count == limit or scanned_size + size > size_limit:
            last_evaluated_key = self._get_last_evaluated_key(last_scanned, None)
            break
        scanned_size += size
        scanned_count += 1
        last_scanned = item
        if match is None or match(item):
            results.append(copy.deepcopy(item) if projection is None
                           else _projected(item, projection_expression, projection, size))  # type: ignore[arg-type]
    return results, scanned_count, last_evaluated_key


def _projected(item: moto_table.Item, expressions: list[list[str]], projection: tuple[tuple[str, ...], ...],
               size: int) -> moto_table.Item:
    """A new item holding the projection of ``item``: worked out once until the item changes (the
    sweep projects the same members night after night), each answer an item of its own."""
    kept = item.__dict__.get(_PROJECTED)
    if kept is None or kept[0] != projection:
        kept = item.__dict__[_PROJECTED] = (projection, _project(item, expressions, size))
    projected = moto_table.Item.__new__(moto_table.Item)
    projected.hash_key, projected.range_key, projected.attrs = item.hash_key, item.range_key, LimitedSizeDict()
    dict.update(projected.attrs, kept[1].attrs)
    return projected


def parse_once(self: comparisons.ConditionExpressionParser) -> Any:
    """``ConditionExpressionParser.parse``, kept for the latest expressions (see **FilterExpressions**
    above). The syntax tree is read-only; what it found is handed over as parse would find it."""
    try:
        key = json.dumps([self.condition_expression, self.expression_attribute_names,
                          self.expression_attribute_values])
    except (TypeError, ValueError):  # binary values: parsed every time
        return _moto_parse(self)
    with _parsed_lock:
        kept = _parsed.get(key)
        if kept is not None:
            _parsed.move_to_end(key)
    if kept is None:
        found_names, found_values = len(self.expr_attr_names_found), len(self.expr_attr_values_found)
        op = _moto_parse(self)
        kept = (op, self.expr_attr_names_found[found_names:], self.expr_attr_values_found[found_values:])
        with _parsed_lock:
            _parsed[key] = kept
            while len(_parsed) > PARSED_KEPT:
                _parsed.popitem(last=False)
        return op
    op, names, values = kept
    self.expr_attr_names_found.extend(names)
    self.expr_attr_values_found.extend(values)
    return op


Match = Callable[[moto_table.Item], Any]  # an item -> what a moto Op's expr answers for it


def matcher(op: Any) -> Match:
    """A function that answers ``op.expr(item)`` for a stored item: the same value, from the same
    comparisons, written as one Python expression (see **FilterExpressions** above); any other node
    is called (``node.expr``). Kept on the op, which ``parse_once`` shares."""
    match = op.__dict__.get(_MATCH)
    if match is None:
        try:
            counting = _Source(frozenset())
            counting.write(op)
            source = _Source(frozenset(name for name, uses in counting.uses.items() if uses > 1))
            body = source.write(op)
            unset = "".join(f"{name} = " for name in source.cached.values())
            exec(f"def match(item):\n    attrs = item.attrs\n    {unset}_UNSET\n    return {body}\n",
                 source.scope)
            match = source.scope["match"]
        except Exception:  # a tree too deep for Python's parser: moto's own walk
            match = op.expr
        op.__dict__[_MATCH] = match
    return match


_ORDERINGS = {comparisons.OpLessThan: "<", comparisons.OpLessThanOrEqual: "<=", comparisons.OpGreaterThan: ">",
              comparisons.OpGreaterThanOrEqual: ">="}
_UNSET = object()  # a cached attribute not looked up yet


class _Source:
    """Writes Python for ``node.expr(item)``, given ``attrs = item.attrs``: ``scope`` holds its
    constants and the nodes it calls; the attributes in ``shared`` are looked up and cast once, in
    locals (``cached``) that start unset. ``uses`` counts how often each attribute is named."""

    def __init__(self, shared: frozenset[str]):
        self.scope: dict[str, Any] = {"_UNSET": _UNSET}
        self.shared = shared
        self.cached: dict[tuple[str, str], str] = {}  # (attr or value, attribute) -> its local
        self.uses: Counter[str] = Counter()

    def write(self, node: Any) -> str:
        kind = type(node)
        if kind is comparisons.OpAnd or kind is comparisons.OpOr:  # moto's "lhs and rhs": the same value
            return f"({self.write(node.lhs)} {'and' if kind is comparisons.OpAnd else 'or'} {self.write(node.rhs)})"
        if kind is comparisons.OpNot:
            return f"(not {self.write(node.lhs)})"
        if kind is comparisons.OpDefault:
            return "True"
        if kind is comparisons.FuncAttrExists and _top_level(node.attr):  # AttributePath.get_type(item) is not None
            looked_up, attr = self._attr(node.attr.path[0])
            return f"({looked_up} is not None and {attr}.type is not None)"
        if kind in _ORDERINGS or kind is comparisons.OpEqual or kind is comparisons.OpNotEqual:
            lhs, rhs = self._operand(node.lhs), self._operand(node.rhs)
            if lhs is not None and rhs is not None:
                if kind is comparisons.OpEqual:
                    return f"({lhs} == {rhs})"
                if kind is comparisons.OpNotEqual:
                    return f"({lhs} != {rhs})"
                # both worked out (&, not and), then None is neither before nor after anything
                left, right = self._name(), self._name()
                return (f"((({left} := {lhs}) is not None) & (({right} := {rhs}) is not None) "
                        f"and {left} {_ORDERINGS[kind]} {right})")
        called = self._name()
        self.scope[called] = node.expr
        return f"{called}(item)"

    def _name(self) -> str:
        name = f"_{len(self.scope)}"
        self.scope[name] = None  # taken (as a constant, a node, or a local of the function)
        return name

    def _cached(self, kind: str, name: str) -> str:
        if (kind, name) not in self.cached:
            self.cached[(kind, name)] = self._name()
        return self.cached[(kind, name)]

    def _attr(self, name: str) -> tuple[str, str]:
        """Python for ``item.attrs.get(name)``, and the local that holds it afterwards."""
        self.uses[name] += 1
        if name in self.shared:
            attr = self._cached("attr", name)
            return f"({attr} if {attr} is not _UNSET else ({attr} := attrs.get({name!r})))", attr
        attr = self._name()
        return f"({attr} := attrs.get({name!r}))", attr

    def _operand(self, operand: Any) -> str | None:
        """Python for ``operand.expr(item)``: a top-level attribute's value (its cast_value, or
        None) or a constant; None for any other operand."""
        if _top_level(operand):
            looked_up, attr = self._attr(operand.path[0])
            value = f"(None if {looked_up} is None else {attr}.value if {attr}.type == 'S' else {attr}.cast_value)"
            if operand.path[0] not in self.shared:
                return value
            cached = self._cached("value", operand.path[0])
            return f"({cached} if {cached} is not _UNSET else ({cached} := {value}))"
        if type(operand) is comparisons.AttributeValue and operand.type in ("S", "N", "B", "BOOL", "NULL"):
            try:
                constant = operand.expr(None)  # a string, a Decimal, bytes, a bool or None: immutable
            except Exception:  # an N that is no number: it fails when it is compared, as in moto
                return None
            name = self._name()
            self.scope[name] = constant
            return name
        return None


def _top_level(operand: Any) -> bool:
    return type(operand) is comparisons.AttributePath and len(operand.path) == 1 and isinstance(operand.path[0], str)


def _project(item: moto_table.Item, expressions: list[list[str]], size: int) -> moto_table.Item:
    """``item.project(expressions)`` (a new item, sharing nothing with the stored one), for
    top-level names: moto turns the whole item into plain values and back (boto3's deserializer,
    then its serializer), and builds the new item checking its size again at every attribute.
    Here a string is copied as it is (the round trip gives it back unchanged), any other value
    goes the same round trip (every one, projected or not, as moto's fails on any), and the size
    is added up as moto's check adds it, unless only strings were copied from an item of ``size``
    within the limit (a part of it is, too)."""
    names = [path[0] for path in expressions]
    if any(len(path) > 1 or "[" in path[0] for path in expressions) or len(set(names)) < len(names):
        return item.project(expressions)
    plain = {name: deserializer.deserialize(attr.to_regular_json()) for name, attr in item.attrs.items()
             if attr.type != "S" or type(attr.value) is not str}
    attrs = {name: serializer.serialize(plain[name]) if name in plain else item.attrs[name]
             for name in names if name in item.attrs}
    projected = moto_table.Item.__new__(moto_table.Item)
    projected.hash_key, projected.range_key, projected.attrs = item.hash_key, item.range_key, LimitedSizeDict()
    checked = size > ITEM_SIZE_LIMIT or any(name in plain for name in attrs)
    total = 0
    for name, attr in attrs.items():
        value = DynamoType(attr)  # a stored string's DynamoType: its type and value, as DynamoType({"S": ...})
        if checked:
            total += bytesize(name) + value.size()
            if total > ITEM_SIZE_LIMIT:  # what LimitedSizeDict.__setitem__ finds at this attribute
                raise ItemSizeTooLarge
        dict.__setitem__(projected.attrs, name, value)
    return projected


def shared_loader(search_paths_string: str | None = None) -> botocore.loaders.Loader:
    with _loaders_lock:
        if search_paths_string not in _loaders:
            _loaders[search_paths_string] = _own_create_loader(search_paths_string)
        return _loaders[search_paths_string]


def _sorted(self: moto_table.Table) -> list[moto_table.Item]:
    if _SORTED not in self.__dict__:
        self.__dict__[_SORTED] = _moto_all_items(self)
    return self.__dict__[_SORTED]  # type: ignore[no-any-return]


def sorted_once(self: moto_table.Table) -> list[moto_table.Item]:
    """moto's all_items (every item, sorted by key), sorted again only after a put or a delete
    (an update changes an item in place, never its key)."""
    return list(_sorted(self))


class _Backup:
    """What moto keeps of a table a transaction touches, in place of a deep copy of it."""

    def __init__(self, table: moto_table.Table):
        self.table, self.saved = table, {}  # (hash, range) -> the item before the transaction, or None
        self.records = len(table.stream_shard.items) if table.stream_shard else 0

    def save(self, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        if (hash_key, range_key) not in self.saved:
            item = self.table.items.get(hash_key)
            if range_key is not None:
                item = item.get(range_key) if item else None
            self.saved[(hash_key, range_key)] = copy.deepcopy(item)

    def restore(self) -> moto_table.Table:
        for (hash_key, range_key), item in self.saved.items():
            held = self.table.items if range_key is None else self.table.items[hash_key]
            if item is None:
                held.pop(hash_key if range_key is None else range_key, None)
            else:
                held[hash_key if range_key is None else range_key] = item
        if self.table.stream_shard:
            del self.table.stream_shard.items[self.records:]
        self.table.__dict__.pop(_SORTED, None)
        return self.table


class _Journal:
    """Stands in for the ``copy`` module in moto's models while a transaction runs."""

    def __init__(self) -> None:
        self.backups: dict[int, _Backup] = {}  # id(table) -> its backup

    def deepcopy(self, value: Any) -> Any:
        if not isinstance(value, moto_table.Table):
            return copy.deepcopy(value)
        return self.backups.setdefault(id(value), _Backup(value))

    def save(self, table: moto_table.Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        if id(table) in self.backups:
            self.backups[id(table)].save(hash_key, range_key)


_journal: _Journal | None = None


def lean_transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    global _journal
    _journal = moto_models.copy = _Journal()  # type: ignore[assignment]
    try:
        return _moto_transact(self, transact_items)
    finally:
        moto_models.copy, _journal = copy, None
        for name, table in list(self.tables.items()):
            if isinstance(table, _Backup):  # moto's rollback put its backup back
                self.tables[name] = table.restore()


def _key(table: moto_table.Table, attrs: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return DynamoType(attrs[table.hash_key_attr]), range_key


def counted_put(self: moto_table.Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    write_counts[self.name] += 1
    self.__dict__.pop(_SORTED, None)
    if _journal:
        with suppress(KeyError):  # no key: moto refuses it
            _journal.save(self, *_key(self, item_attrs))
    return _moto_put(self, item_attrs, *args, **kwargs)


def counted_delete(self: moto_table.Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
    write_counts[self.name] += 1
    self.__dict__.pop(_SORTED, None)
    if _journal:
        _journal.save(self, hash_key, range_key)
    return _moto_delete(self, hash_key, range_key)


def counted_update(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    write_counts[table_name.rpartition("/")[2]] += 1  # a name, or a table ARN
    if _journal:
        with suppress(Exception):  # no such table or key: moto refuses it
            _journal.save(self.get_table(table_name), *_key(self.get_table(table_name), key))
    try:
        return _moto_update(self, table_name, key, *args, **kwargs)
    finally:  # changed in place, even by an update that failed half-way
        with suppress(Exception):
            changed = self.get_item(table_name, key).__dict__
            changed.pop(_SIZE, None)
            changed.pop(_PROJECTED, None)


def _cast_value(self: DynamoType) -> Any:
    # moto's cast_value tries five other types before it answers a string with its value
    return self.value if self.type == "S" else _moto_cast_value.fget(self)


def method_names_once(clazz: Any) -> list[str]:
    """moto's ``method_names_from_class`` (``inspect.getmembers`` of the handler class, on every
    request), listed once a class: the local cloud replaces handler methods, never adds one."""
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = _moto_method_names(clazz)
    return names


_underscores = functools.lru_cache(maxsize=4096)(_moto_underscores)  # an action's name -> its method's
_own_jsonpath = jsonpath_ng.ext.parse
_moto_dynamo_to_dict = moto_responses.dynamo_to_dict
_moto_update_parse = UpdateExpressionParser.make
_moto_private_key = moto_kms.generate_private_key
_moto_enrich = moto.core.responses.BaseResponse._enrich_response
_PLAIN = (str, int, float, bool, type(None))


def plain_dynamo_to_dict(obj: Any) -> Any:
    """moto's ``dynamo_to_dict`` (what DynamoResult makes of a handler's result: DynamoTypes as
    ``{type: value}``), with the common cases - dicts, lists, strings and string attributes -
    answered without its five type checks each; anything else is moto's."""
    kind = type(obj)
    if kind is DynamoType:
        if obj.type == "S" and type(obj.value) is str:
            return {"S": obj.value}
        return _moto_dynamo_to_dict(obj)
    if kind is dict or kind is LimitedSizeDict:  # neither has to_json
        return {key: plain_dynamo_to_dict(value) for key, value in obj.items()}
    if kind is list:
        return [plain_dynamo_to_dict(value) for value in obj]
    if kind in _PLAIN:
        return obj
    return _moto_dynamo_to_dict(obj)


class PrivateKeyWhenUsed:
    """A KMS key's private key as moto makes it (``generate_private_key(key_spec)``), made when
    first used: every key spec names a pair moto can make, so making it later fails no request."""

    def __init__(self, key_spec: str):
        self.key_spec = key_spec
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:  # only what this object lacks: the pair's own methods
        if name.startswith("__") or name == "_made":
            raise AttributeError(name)
        if self._made is None:
            self._made = _moto_private_key(self.key_spec)
        return getattr(self._made, name)


def _processing_once(walker: DepthFirstTraverser) -> dict[type, Callable[[Any], Any]]:
    """A validator's ``_processing_map``, made once: moto's is a new dict of its bound methods at
    every call, the same every time."""
    mapping = walker.__dict__.get("_local_map")
    if mapping is None:
        mapping = walker.__dict__["_local_map"] = walker._processing_map()
        walker.__dict__["_local_kinds"] = tuple(mapping)
    return mapping


def nodes_once(walker: DepthFirstTraverser) -> tuple[type, ...]:
    """``DepthFirstTraverser.nodes_to_be_processed``: the node types of its map, listed once."""
    _processing_once(walker)
    return walker.__dict__["_local_kinds"]  # type: ignore[no-any-return]


def process_once(walker: DepthFirstTraverser, node: Any) -> Any:
    """``DepthFirstTraverser.process``: the first method whose node type ``node`` is, as moto picks it."""
    for kind, processor in _processing_once(walker).items():
        if isinstance(node, kind):
            return processor(node)
    return None


@functools.lru_cache(maxsize=512)
def update_expression_once(expression: str) -> Any:
    """``UpdateExpressionParser.make``, once an expression (see **The rest of a request** above; nothing
    changes the tree). One that fails is parsed, and fails, every time."""
    return _moto_update_parse(expression)


def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    """``BaseResponse._enrich_response``: moto searches every answer for an XML <RequestId> to
    replace, a regular expression over the whole body (a megabyte, for a page of a Scan). A text
    without "<RequestId>" cannot match: it is left as it is, after the same headers and the same
    draw of a request id."""
    if not isinstance(body, str) or "<RequestId>" in body:
        return _moto_enrich(headers, body)  # type: ignore[no-any-return]
    if "status" in headers:
        headers["status"] = str(headers["status"])
    gen_amzn_requestid_long(headers)
    return headers, body


@functools.lru_cache(maxsize=1024)
def _jsonpath(path: str, debug: bool | None = None) -> Any:
    """jsonpath_ng's parse (a new PLY parser, tables and all, for every path), once a path: moto's
    EventBridge parses each target's InputPaths again for every event it delivers. A parsed path
    is only read (``find``)."""
    return _own_jsonpath(path, debug)


# ------------------------------------------------------------------ JSON answers
Writer = Callable[[dict[Any, Any], Any, Any], None]  # (serialized, value, key): moto's _serialize for one shape
_writers: dict[tuple[int, str, str], tuple[Any, Writer]] = {}  # (resolver, shape name, traits) -> its writer
_timestamps = TimestampSerializer(JSONSerializer.DEFAULT_TIMESTAMP_FORMAT)


class _Unsure(Exception):
    """A value the fast serializer leaves to moto's own (an object, say, where it expects a dict)."""


def _unsure(serialized: dict[Any, Any], value: Any, key: Any) -> None:
    raise _Unsure


def _writer(shape: Any) -> Writer:
    """What ``JSONSerializer._serialize(serialized, value, shape, key)`` does, as a function made
    once for the shape: moto looks up a method, walks six alias providers and builds a context
    object for every member of every value; here the names it would try are listed once."""
    # botocore makes a new Shape object at every level of a recursive shape (AttributeValue): the
    # writer is kept by what defines it, its model's resolver, its name and its member traits
    key = (id(shape._shape_resolver), shape.name, repr(shape.serialization))
    kept = _writers.get(key)
    if kept is not None and kept[0] is shape._shape_resolver:
        return kept[1]
    renamed, new_name = "name" in shape.serialization, shape.serialization.get("name")
    method = getattr(JSONSerializer, f"_serialize_type_{shape.type_name}", None)
    write: Writer

    def write_value(serialized: dict[Any, Any], value: Any, key: Any) -> None:  # _default_serialize
        serialized[new_name if renamed else key] = value

    if method is None:
        write = write_value
    elif method is BaseJSONSerializer._serialize_type_structure:
        if shape.is_document_type:
            def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
                serialized[key] = value
        else:
            members: list[tuple[tuple[str, ...], Writer, str]] = []  # (names tried, writer, member)
            owners: dict[str, list[int]] = {}  # a name tried -> the members that try it

            def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
                if value is None:
                    return
                if type(value) is not dict:
                    raise _Unsure
                wrapper = {} if key else serialized
                if len(value) == 1:  # an attribute value ({"S": ...}): its one name is what is found
                    ((name, member_value),) = value.items()
                    if member_value is not None:
                        for index in owners.get(name, ()):
                            members[index][1](wrapper, member_value, members[index][2])
                else:  # only members one of whose names the value holds can be found, in the members' order
                    for index in sorted({index for name in value for index in owners.get(name, ())}):
                        names, write_member, member = members[index]
                        member_value = value[next(name for name in names if name in value)]
                        if member_value is not None:
                            write_member(wrapper, member_value, member)
                if key:
                    serialized[new_name if renamed else key] = wrapper
            _writers[key] = (shape._shape_resolver, write)  # before its members: they may hold it
            picker = XFormedAttributePicker()
            for member, member_shape in shape.members.items():
                member_shape.parent = shape  # as moto sets it before it picks the value
                # a dict has no Meta and its class is dict: what the picker tries depends on nothing else
                names = tuple(dict.fromkeys(picker.get_possible_keys(
                    AttributePickerContext(obj={}, key=member, shape=member_shape))))
                if any("." in name for name in names):  # moto would read it as a path
                    write = _unsure
                    break
                for name in names:
                    owners.setdefault(name, []).append(len(members))
                members.append((names, _writer(member_shape), member))
    elif method is BaseJSONSerializer._serialize_type_list:
        item_key, item_writer = shape.member.name, [_unsure]

        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            if type(value) is not list:
                raise _Unsure
            items = []
            for item in value:
                wrapper: dict[Any, Any] = {}
                item_writer[0](wrapper, item, item_key)
                items.append(wrapper.get(item_key, item))
            serialized[new_name if renamed else key] = items
        _writers[key] = (shape._shape_resolver, write)
        item_writer[0] = _writer(shape.member)
    elif method is BaseJSONSerializer._serialize_type_map:
        value_writer = [_unsure]

        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            if type(value) is not dict:
                raise _Unsure
            written: dict[Any, Any] = {}
            serialized[new_name if renamed else key] = written
            for sub_key, sub_value in value.items():
                value_writer[0](written, sub_value, sub_key)
        _writers[key] = (shape._shape_resolver, write)
        value_writer[0] = _writer(shape.value)
    elif method is BaseJSONSerializer._serialize_type_string:
        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            if isinstance(value, Enum):
                value = value.value
            serialized[new_name if renamed else key] = str(value) if value not in [None, {}, []] else value
    elif method is ResponseSerializer._serialize_type_timestamp:
        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            wrapper: dict[str, Any] = {}
            _timestamps.serialize(wrapper, value, shape, "timestamp")
            serialized[new_name if renamed else key] = wrapper["timestamp"]
    elif method is ResponseSerializer._serialize_type_blob:
        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            raw = value.encode("utf-8") if isinstance(value, str) else value
            serialized[new_name if renamed else key] = base64.b64encode(raw).strip().decode("utf-8")
    elif method is ResponseSerializer._serialize_type_integer:
        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            serialized[new_name if renamed else key] = int(value)
    elif method is ResponseSerializer._serialize_type_float:
        def write(serialized: dict[Any, Any], value: Any, key: Any) -> None:
            serialized[new_name if renamed else key] = float(value)
    else:  # a method this module does not know (another moto)
        write = _unsure
    _writers[key] = (shape._shape_resolver, write)
    return write


def fast_serialize_result(self: JSONSerializer, resp: ResponseDict, result: Any) -> ResponseDict:
    """``JSONSerializer._serialize_result`` for results made of dicts and lists, as DynamoDB's are;
    anything else (an object, a picker with transformers) goes to moto's own."""
    picker = self._value_picker
    if (type(self) is JSONSerializer and self.service_model.service_name in FAST_JSON_SERVICES
            and type(picker) is XFormedAttributePicker and picker.alias_providers is DEFAULT_ALIAS_PROVIDERS
            and not picker.response_transformers):
        output_shape = self.operation_model.output_shape
        serialized: dict[Any, Any] = {}
        try:
            if output_shape is not None:
                _writer(output_shape)(serialized, result, "")
        except Exception:  # nothing was changed: moto's serializer answers, or fails, as it would
            pass
        else:
            return self._serialized_result_to_response(resp, result, output_shape, serialized)
    return _moto_serialize_result(self, resp, result)


# ------------------------------------------------------------------ JSON requests
Reader = Callable[[Any], Any]  # a JSON value -> moto's JSONParser._parse_shape of it, for one shape
_readers: dict[tuple[int, str, str], tuple[Any, Reader]] = {}


def _reader(shape: Any) -> Reader:
    """What ``JSONParser._parse_shape(shape, value)`` does, as a function made once for the shape
    (kept as writers are, by what defines the shape)."""
    key = (id(shape._shape_resolver), shape.name, repr(shape.serialization))
    kept = _readers.get(key)
    if kept is not None and kept[0] is shape._shape_resolver:
        return kept[1]
    method = getattr(JSONParser, f"_parse_{shape.type_name}", None)
    read: Reader

    def unsure(value: Any) -> Any:
        raise _Unsure

    if method is None:
        def read(value: Any) -> Any:  # _default_handle
            return value
    elif method is BaseJSONParser._parse_structure:
        if shape.is_document_type:
            def read(value: Any) -> Any:
                return value
        else:
            members: list[tuple[str, str, list[Reader]]] = []  # (member, its JSON name, its reader)
            by_json_name: dict[str, list[tuple[str, list[Reader]]]] = {}

            def read(value: Any) -> Any:
                if value is None:
                    return None
                if type(value) is not dict:
                    raise _Unsure
                parsed = {}
                if len(value) == 1:  # an attribute value ({"S": ...}): only members of that name read it
                    ((json_name, raw),) = value.items()
                    if raw is not None:
                        for member, member_reader in by_json_name.get(json_name, ()):
                            parsed[member] = member_reader[0](raw)
                    return parsed
                for member, json_name, member_reader in members:
                    raw = value.get(json_name)
                    if raw is not None:
                        parsed[member] = member_reader[0](raw)
                return parsed
            _readers[key] = (shape._shape_resolver, read)  # before its members: they may hold it
            for member, member_shape in shape.members.items():
                json_name = member_shape.serialization.get("name", member)
                cell = [unsure]
                members.append((member, json_name, cell))
                by_json_name.setdefault(json_name, []).append((member, cell))
                cell[0] = _reader(member_shape)
    elif method is RequestParser._parse_list:
        item_reader = [unsure]

        def read(value: Any) -> Any:
            if type(value) is not list:
                raise _Unsure
            return [item_reader[0](item) for item in value]
        _readers[key] = (shape._shape_resolver, read)
        item_reader[0] = _reader(shape.member)
    elif method is RequestParser._parse_map:
        key_reader, value_reader = [unsure], [unsure]

        def read(value: Any) -> Any:
            if type(value) is not dict:
                raise _Unsure
            return {key_reader[0](k): value_reader[0](v) for k, v in value.items()}
        _readers[key] = (shape._shape_resolver, read)
        key_reader[0], value_reader[0] = _reader(shape.key), _reader(shape.value)
    elif method is BaseJSONParser._parse_blob:
        read = base64.b64decode  # default_blob_parser
    elif method is BaseJSONParser._parse_timestamp:
        read = default_timestamp_parser
    elif method is BaseJSONParser._parse_float:
        read = float
    elif method is BaseJSONParser._parse_integer:
        read = int
    else:  # a method this module does not know (another moto)
        read = unsure
    _readers[key] = (shape._shape_resolver, read)
    return read


def fast_do_parse(self: JSONParser, request_dict: Any, shape: Any) -> Any:
    """``JSONParser._do_parse`` (a request's JSON body, as moto's handlers read it), made of the
    readers above for DynamoDB, its streams and SQS; anything they do not expect goes to moto's."""
    if (type(self) is JSONParser and self.MAP_TYPE is dict and self._blob_parser is default_blob_parser
            and self._timestamp_parser is default_timestamp_parser
            and self.operation_model.service_model.service_name in FAST_JSON_SERVICES):
        try:
            return {} if shape is None else _reader(shape)(self._parse_body_as_json(request_dict["body"]))
        except Exception:  # nothing was changed: moto's parser answers, or fails, as it would
            pass
    return _moto_do_parse(self, request_dict, shape)


def send(self: botocore.endpoint.Endpoint, request: AWSPreparedRequest) -> AWSResponse:
    """What ``Endpoint._send`` does, with the moto server's application in place of HTTP for
    requests to its endpoint."""
    url = urlsplit(request.url)
    app = _served.get(f"{url.scheme}://{url.netloc}")
    if app is None:
        return _send_over_http(self, request)
    body = request.body.read() if hasattr(request.body, "read") else request.body
    headers = [(name, value.decode() if isinstance(value, bytes) else value) for name, value in request.headers.items()]
    environ = EnvironBuilder(method=request.method, base_url=f"{url.scheme}://{url.netloc}", path=url.path,
                             query_string=url.query, headers=headers, data=body or b"").get_environ()
    answer, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    return AWSResponse(request.url, int(status.split()[0]), dict(response_headers), MockRawResponse(b"".join(answer)))


def post_in_process(url: str) -> None:
    """A bodiless POST to ``url`` on an endpoint served in-process (moto's own ``/moto-api/``);
    raises as urllib does when the answer is not a success."""
    parts = urlsplit(url)
    environ = EnvironBuilder(method="POST", base_url=f"{parts.scheme}://{parts.netloc}", path=parts.path,
                             query_string=parts.query).get_environ()
    answer, status, _ = run_wsgi_app(_served[f"{parts.scheme}://{parts.netloc}"], environ, buffered=True)
    if not status.startswith("2"):
        raise RuntimeError(f"POST {url}: {status}: {b''.join(answer)[:200]!r}")


def serve_in_process(endpoint_url: str, app: Any) -> None:
    """Answers this process's clients of ``endpoint_url`` with ``app`` (until :func:`uninstall`)."""
    _served[endpoint_url] = app


# (owner, attribute, what replaces it) for install; uninstall puts back what each held at import
_PATCHES: tuple[tuple[Any, str, Any], ...] = (
    (moto.backends, "list_of_moto_modules", functools.cache(lambda: tuple(_moto_modules()))),
    (botocore.endpoint.Endpoint, "_send", send),
    (moto_table.Table, "scan", lean_scan),
    (moto_table.Table, "all_items", sorted_once),
    (moto_table.Table, "put_item", counted_put),
    (moto_table.Table, "delete_item", counted_delete),
    (DynamoDBBackend, "update_item", counted_update),
    (DynamoDBBackend, "transact_write_items", lean_transact_write_items),
    (DynamoType, "cast_value", property(_cast_value)),
    (botocore.session, "create_loader", shared_loader),  # what Session._register_data_loader calls
    (JSONSerializer, "_serialize_result", fast_serialize_result),
    (JSONParser, "_do_parse", fast_do_parse),
    (moto.core.responses, "method_names_from_class", method_names_once),
    (moto.core.responses, "camelcase_to_underscores", _underscores),
    (comparisons.ConditionExpressionParser, "parse", parse_once),
    (jsonpath_ng.ext, "parse", _jsonpath),  # what moto.events.utils imports for every event
    (moto_responses, "dynamo_to_dict", plain_dynamo_to_dict),  # what DynamoResult calls
    (UpdateExpressionParser, "make", staticmethod(update_expression_once)),
    (DepthFirstTraverser, "nodes_to_be_processed", nodes_once),
    (moto_kms, "generate_private_key", PrivateKeyWhenUsed),  # what Key.__init__ calls
    (DepthFirstTraverser, "process", process_once),
    (moto.core.responses.BaseResponse, "_enrich_response", staticmethod(enrich_response)),
)
# as defined (a classmethod or a staticmethod as such), to be put back as it was
_ORIGINALS = tuple((owner, name, inspect.getattr_static(owner, name)) for owner, name, _ in _PATCHES)


def install() -> None:
    for owner, name, replacement in _PATCHES:
        setattr(owner, name, replacement)


def uninstall() -> None:
    _served.clear()
    for owner, name, original in _ORIGINALS:
        setattr(owner, name, original)
