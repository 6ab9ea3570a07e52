"""``workstation feed``: stream live market data into the database, serve a replay, show who streams.

    feed run --symbols A,B [--feed iex|sip] [--duration S] [--json]   stream and store until Ctrl+C / S seconds
    feed replay [--symbols …] [--interval 1h] [--start D] [--speed N] [--port P]   serve stored bars offline
    feed status [--json]                                              the data connection's owner and health

Exit codes (errors.ExitCode): 0 streamed; 1 refused (another feed run streams) or partial (never
connected, bars left unstored); 2 bad input, configuration or credentials (refused keys, a feed the
plan lacks); 130 stopped with Ctrl+C (after storing what had arrived).
"""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click

from workstation.cli.context import app_context
from workstation.errors import ConfigurationError, ExitCode, InvalidInputError

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,31}$")
_STATS_EVERY = 60.0


def _symbols(value: str | None, *, required: bool) -> list[str]:
    names = [s.strip().upper() for s in (value or "").split(",") if s.strip()]
    if required and not names:
        raise InvalidInputError("--symbols names no symbol")
    bad = [s for s in names if not _SYMBOL.match(s)]
    if bad:
        raise InvalidInputError(f"not a symbol: {', '.join(bad)}")
    return sorted(set(names))


def _emit(as_json: bool, event: str, payload: dict[str, Any], text: str | None = None) -> None:
    if as_json:
        import json

        from workstation.cli.output import _default

        click.echo(json.dumps({"event": event, "at": datetime.now(UTC).isoformat(), **payload}, default=_default))
    elif text:
        click.echo(text, err=True)


@click.group("feed")
def command() -> None:
    """Live market data: stream and store it, or replay stored bars offline."""


@command.command("run")
@click.option("--symbols", required=True, help="Comma-separated symbols, e.g. AAPL,MSFT.")
@click.option("--feed", "feed_name", type=click.Choice(["iex", "sip"]), default="iex", show_default=True)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: until Ctrl+C).")
@click.option("--source", default="alpaca", show_default=True, help="market_data.source of the stored bars.")
@click.option("--no-backfill", is_flag=True, help="Do not fill gaps from the bars endpoint (e.g. from a replay).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines: status changes, stats, the summary.")
def run_cmd(
    symbols: str, feed_name: str, duration: float | None, source: str, no_backfill: bool, as_json: bool
) -> None:
    """Stream minute bars, daily bars, trades and quotes from Alpaca and store the bars as they arrive.

    Keys: APCA_API_KEY_ID / APCA_API_SECRET_KEY (or saved in Settings). APCA_API_STREAM_DATA_URL overrides
    the websocket base, APCA_API_DATA_URL the bars endpoint used to back-fill gaps.
    """
    from workstation.credentials import load_alpaca_credentials
    from workstation.market.stream.events import FeedStatus
    from workstation.market.stream.protocol import stream_url
    from workstation.market.stream.service import FeedConfig, LiveFeed
    from workstation.monitoring.redaction import register_secret

    names = _symbols(symbols, required=True)
    if duration is not None and duration <= 0:
        raise InvalidInputError("--duration must be a positive number of seconds")
    found = load_alpaca_credentials()
    if found is None:
        raise ConfigurationError(
            "no Alpaca credentials: set APCA_API_KEY_ID and APCA_API_SECRET_KEY or save them in Settings"
        )
    keys = found[0]
    register_secret(keys.secret_key)
    stream_url(feed_name)  # a malformed APCA_API_STREAM_DATA_URL is a configuration error, before anything starts
    engine = app_context().engine
    config = FeedConfig(
        tuple(names), keys.key_id, keys.secret_key, role="feed", feed=feed_name, source=source, backfill=not no_backfill
    )
    feed = LiveFeed(engine, config)

    def on_status(status: FeedStatus) -> None:
        text = f"feed {status.state}"
        if status.state == "connected":
            text += f": {status.url} (connection {status.connections})"
        elif status.last_error and status.state in ("reconnecting", "failed", "consumer"):
            text += f": {status.last_error}"
        _emit(as_json, "status", {k: v for k, v in status.to_dict().items() if k != "extra"}, text)

    feed.add_status_listener(on_status)
    started = time.monotonic()
    interrupted = False
    previous = _stop_on_sigterm()
    try:
        feed.start()
        _emit(as_json, "started", {"symbols": names, "feed": feed_name, "owner": feed.is_owner},
              f"streaming {', '.join(names)} ({feed_name}); Ctrl+C stops")  # fmt: skip
        next_stats = started + _STATS_EVERY
        while duration is None or time.monotonic() - started < duration:
            if feed.fatal_error or not feed.is_owner:
                break
            time.sleep(0.2)
            if as_json and time.monotonic() >= next_stats:
                next_stats += _STATS_EVERY
                _emit(True, "stats", feed.summary())
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            feed.stop()
        except KeyboardInterrupt:  # a second Ctrl+C while flushing: leave now
            interrupted = True
    summary = feed.summary() | {"duration_seconds": round(time.monotonic() - started, 3)}
    code = _exit_code(feed, summary, interrupted)
    _emit(as_json, "summary", summary | {"exit_code": int(code)})
    if not as_json:
        _print_summary(summary)
    if feed.fatal_error:
        click.echo(f"error: {feed.fatal_error}", err=True)
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))


def _stop_on_sigterm() -> Any:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (a test invoking the command)
        return signal.getsignal(signal.SIGTERM)


def _exit_code(feed: Any, summary: dict[str, Any], interrupted: bool) -> ExitCode:
    if feed.fatal_error:
        return ExitCode.USAGE  # refused keys or a feed the plan does not include: fix the configuration
    if summary.get("unstored"):
        return ExitCode.REFUSED  # the database refused bars until the end
    if interrupted:
        return ExitCode.CANCELLED
    if not summary.get("connections"):
        return ExitCode.REFUSED  # never connected (e.g. 406 the whole time)
    if not feed.is_owner and feed.ownerships and summary.get("state") != "stopped":
        return ExitCode.REFUSED
    return ExitCode.OK


def _print_summary(s: dict[str, Any]) -> None:
    click.echo(
        f"streamed {len(s['symbols'])} symbols for {s['duration_seconds']:.1f} s ({s['feed']}): "
        f"{s['bars']} minute bars, {s['updated_bars']} updated, {s['daily_bars']} daily, "
        f"{s['trades']} trades, {s['quotes']} quotes"
    )
    click.echo(
        f"stored {s.get('stored_inserted', 0)} new, {s.get('stored_updated', 0)} revised, "
        f"{s.get('stored_unchanged', 0)} unchanged, {s.get('stored_rejected', 0)} rejected; back-filled "
        f"{s['backfilled_minutes']} minutes and {s['backfilled_daily']} daily bars; {s['connections']} connections "
        f"({s['reconnects']} reconnects); store delay median {s.get('median_delay_seconds', 0):.3f} s, "
        f"max {s.get('max_delay_seconds', 0):.3f} s"
    )
    if s.get("backfill_failures"):
        click.echo(f"back-fill failed for {', '.join(sorted(s['backfill_failures']))} (see above)", err=True)


@command.command("replay")
@click.option("--symbols", default=None, help="Comma-separated symbols (default: every symbol with bars).")
@click.option("--interval", default="1m", show_default=True, help="Stored bars to play: 1m, 5m, 15m, 30m, 1h or 1d.")
@click.option("--start", default=None, help="First day or time to play (default: the earliest stored bar).")
@click.option(
    "--speed", type=float, default=60.0, show_default=True, help="× real time (60 = a minute per second; 0 = max)."
)
@click.option("--port", type=int, default=8765, show_default=True, help="Port to listen on (0 = any free port).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--source", default=None, help="Play this source's bars (default: the source with the most bars).")
@click.option("--no-ticks", is_flag=True, help="Send bars only, no synthetic trades and quotes.")
def replay_cmd(symbols: str | None, interval: str, start: str | None, speed: float, port: int, host: str,
               source: str | None, no_ticks: bool) -> None:  # fmt: skip
    """Serve stored bars over Alpaca's market-data websocket protocol, offline, until Ctrl+C.

    Point a client at it with APCA_API_STREAM_DATA_URL=ws://HOST:PORT (any keys); ``workstation feed run``
    and the window then stream the replay exactly as they stream Alpaca.
    """
    from workstation.cli.ingest import parse_when
    from workstation.market.replay.server import ReplayServer

    if speed < 0:
        raise InvalidInputError("--speed must be 0 (as fast as possible) or positive")
    if not 0 <= port <= 65535:
        raise InvalidInputError("--port must be between 0 and 65535")
    when = parse_when(start, "--start")
    server = ReplayServer(
        app_context().engine, symbols=_symbols(symbols, required=False) or None, interval=interval,
        start=when.to_pydatetime() if when is not None else None, speed=speed, source=source, host=host, port=port,
        ticks=not no_ticks,
    )  # fmt: skip
    try:
        server.start()
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    universe = server.universe
    click.echo(
        f"replaying {len(universe.sources)} symbols of {interval} bars from {server.start_at:%Y-%m-%d %H:%M} UTC "
        f"at {speed:g}x on {server.url} (APCA_API_STREAM_DATA_URL={server.url}); Ctrl+C stops",
        err=True,
    )
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    click.echo(f"served {server.connections} connections, {server.messages_sent} messages", err=True)
    raise click.exceptions.Exit(int(ExitCode.CANCELLED))


@command.command("status")
@click.option("--json", "as_json", is_flag=True)
def status_cmd(as_json: bool) -> None:
    """Which process holds the data connection, and its last published health."""
    from workstation.cli.output import echo_json
    from workstation.market.stream.lease import lease_expired, read_lease

    engine = app_context().engine
    holder = read_lease(engine)
    if holder is None:
        payload: dict[str, Any] = {"owner": None, "state": "stopped"}
    else:
        expired = lease_expired(holder, engine)
        status = holder.status.to_dict() if holder.status is not None else {}
        payload = {k: v for k, v in status.items() if k not in ("owner", "owner_description", "extra")}
        payload |= {"owner": holder.description, "role": holder.role, "expired": expired}
        payload |= {"heartbeat_at": holder.heartbeat_at, "state": "stale" if expired else status.get("state")}
    if as_json:
        echo_json(payload)
        return
    if holder is None:
        click.echo("no process holds the data connection")
        return
    click.echo(
        f"{payload['owner']}: {payload['state']}, {payload.get('messages_per_second', 0):g} msg/s, "
        f"lag {payload.get('lag_seconds')} s, last heartbeat {holder.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f", last error: {payload['last_error']}" if payload.get("last_error") else "")
    )
