"""Speed-ups of the local cloud that change no answer.

**Scan.** moto (5.2) deep-copies every scanned item and measures it twice before it applies the
FilterExpression, so a filtered scan costs as much as reading the whole table back. The
nightly sweep filters out almost every member, and a rehearsal runs it hundreds of times:
this scan judges each item first and copies only the ones it returns. Pages, ``Limit``, the
1 MB page size, segments, ``ScannedCount`` and ``LastEvaluatedKey`` are moto's; a test
compares both scans on random tables. Scans with an index or the legacy ``ScanFilter`` go to
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

**Write counts.** Every write to a moto table (put, update, delete, alone, in a batch or in a
transaction) is counted by table name, so the TTL reaper reads again only a table that was
written to since it last read it, instead of every table at every step of the clock.
"""
from __future__ import annotations

import copy
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import botocore.endpoint
import botocore.loaders
import botocore.session
import moto.backends
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as moto_table
from werkzeug.test import EnvironBuilder, run_wsgi_app

_moto_scan = moto_table.Table.scan
_moto_modules = moto.backends.list_of_moto_modules
_send_over_http = botocore.endpoint.Endpoint._send
_served: dict[str, Any] = {}  # endpoint URL -> the moto server's WSGI application
_moto_put, _moto_delete = moto_table.Table.put_item, moto_table.Table.delete_item
_moto_update = DynamoDBBackend.update_item
write_counts: Counter[str] = Counter()  # table name -> writes so far (including refused ones)
_own_create_loader = botocore.session.create_loader
_loaders: dict[str | None, botocore.loaders.Loader] = {}
_loaders_lock = threading.Lock()


def lean_scan(
    self: moto_table.Table,
    filters: dict[str, Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    filter_expression: Any = None,
    index_name: str | None = None,
    consistent_read: bool = False,
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
    skipping = exclusive_start_key is not None
    for item in self.all_items():
        if not item.is_within_segment(segments):
            continue
        if skipping:
            if self._item_comes_before_dct(item, exclusive_start_key, hash_attrs, range_attrs, True):
                continue
            skipping = False
        size = item.size()
        if scanned_count == limit or scanned_size + size > moto_table.RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(last_scanned, None)
            break
        scanned_size += size
        scanned_count += 1
        last_scanned = item
        if filter_expression is None or filter_expression.expr(item):
            results.append(copy.deepcopy(item))
    if projection_expression:
        results = [result.project(projection_expression) for result in results]
    return results, scanned_count, last_evaluated_key


def shared_loader(search_paths_string: str | None = None) -> botocore.loaders.Loader:
    with _loaders_lock:
        if search_paths_string not in _loaders:
            _loaders[search_paths_string] = _own_create_loader(search_paths_string)
        return _loaders[search_paths_string]


def counted_put(self: moto_table.Table, *args: Any, **kwargs: Any) -> Any:
    write_counts[self.name] += 1
    return _moto_put(self, *args, **kwargs)


def counted_delete(self: moto_table.Table, *args: Any, **kwargs: Any) -> Any:
    write_counts[self.name] += 1
    return _moto_delete(self, *args, **kwargs)


def counted_update(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
    write_counts[table_name.rpartition("/")[2]] += 1  # a name, or a table ARN
    return _moto_update(self, table_name, *args, **kwargs)


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


def serve_in_process(endpoint_url: str, app: Any) -> None:
    """Answers this process's clients of ``endpoint_url`` with ``app`` (until :func:`uninstall`)."""
    _served[endpoint_url] = app


def install() -> None:
    modules = tuple(_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules
    botocore.endpoint.Endpoint._send = send  # type: ignore[method-assign]
    moto_table.Table.scan = lean_scan
    moto_table.Table.put_item, moto_table.Table.delete_item = counted_put, counted_delete  # type: ignore[method-assign]
    DynamoDBBackend.update_item = counted_update  # type: ignore[method-assign]
    botocore.session.create_loader = shared_loader  # what Session._register_data_loader calls


def uninstall() -> None:
    _served.clear()
    botocore.endpoint.Endpoint._send = _send_over_http  # type: ignore[method-assign]
    moto.backends.list_of_moto_modules = _moto_modules
    moto_table.Table.scan = _moto_scan
    moto_table.Table.put_item, moto_table.Table.delete_item = _moto_put, _moto_delete  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _moto_update  # type: ignore[method-assign]
    botocore.session.create_loader = _own_create_loader
