"""Is the platform consistent? One snapshot of every service's own database, and the checks the
fault scenarios end with:

- every replica equals its source: accounts' accounts = voting's voters, polls' causes and polls
  = voting's replicas, voting's tallies = polls' tally replicas (same version, same state);
- every tally equals a recount of the ballots, and every finalized poll's results its tally;
- no event lost: no outbox holds an unpublished event, no dead letter is left (unless expected);
- nothing counted twice: no (account, epoch) credited twice, every account's points are the sum
  of its ledger, and (with a `Writer`) every acknowledged write is there exactly once.

Each service's data is read by its own code (`manage.py shell -c`, printing JSON), so the same
check runs on SQLite and PostgreSQL. `Writer` is the stream of real API writes a scenario keeps
in flight while it breaks something.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import random
import threading
import time
import urllib.error
import uuid
from collections import Counter, defaultdict
from typing import Any

from tests.system.harness import Platform, http

PASSWORD = "a-long-enough-passphrase-42"
MARK = "SNAPSHOT-JSON:"

_COMMON = """
import json
from shared_events.core.outbox.models import OutboxEvent
from shared_events.core.consumer.models import DeadLetter, ProcessedEvent
def _common():
    return {
        "outbox_pending": OutboxEvent.objects.filter(published_at__isnull=True).count(),
        "outbox_published": OutboxEvent.objects.filter(published_at__isnull=False,
                                                       superseded=False).count(),
        "dead_letters": DeadLetter.objects.filter(status="dead").count(),
        "replayed_letters": DeadLetter.objects.filter(status="replayed").count(),
        "inbox": ProcessedEvent.objects.count(),
    }
"""

SNAPSHOT_CODE = {
    "accounts": _COMMON
    + """
from django.db.models import Count, Sum
from accounts.models import Account, LedgerEntry
snap = _common()
snap["accounts"] = {str(a["id"]): [a["role"], a["is_active"], a["points"], a["version"]]
                    for a in Account.objects.values("id", "role", "is_active", "points", "version")}
snap["ledger_sum"] = {str(r["account_id"]): int(r["s"]) for r in
                      LedgerEntry.objects.order_by().values("account_id").annotate(s=Sum("delta"))}
snap["adjustments"] = {str(r["account_id"]): r["n"] for r in
                       LedgerEntry.objects.filter(kind="adjustment").order_by()
                       .values("account_id").annotate(n=Count("id"))}
snap["epoch_credited_twice"] = [
    [str(r["account_id"]), r["epoch"]] for r in
    LedgerEntry.objects.filter(epoch__isnull=False).order_by().values("account_id", "epoch")
    .annotate(n=Count("id")).filter(n__gt=1)]
print("%s" + json.dumps(snap))
""",
    "polls": _COMMON
    + """
from polls.models import Cause, Poll, PollResult, TallyReplica
snap = _common()
snap["causes"] = {str(c.pk): [c.title, c.is_active, c.version] for c in Cause.objects.all()}
snap["polls"] = {str(p.pk): [p.status, [str(c) for c in p.cause_ids()], p.version]
                 for p in Poll.objects.all()}
snap["tallies"] = {str(t.pk): [t.source_version, t.is_deleted, t.final, t.ballots,
                               t.total_points,
                               {c["cause_id"]: [c["points"], c["voters"]] for c in t.causes}]
                   for t in TallyReplica.objects.all()}
results = {}
for r in PollResult.objects.all():
    results.setdefault(str(r.poll_id), {})[str(r.cause_id)] = [r.points, r.voters]
snap["results"] = results
print("%s" + json.dumps(snap))
""",
    "voting": _COMMON
    + """
from collections import defaultdict
from voting.models import Allocation, Ballot, CauseReplica, PollReplica, PollTally, Voter
snap = _common()
snap["voters"] = {str(v["id"]): [v["role"], v["is_active"], v["points"], v["source_version"],
                                 v["is_deleted"]]
                  for v in Voter.objects.values("id", "role", "is_active", "points",
                                                "source_version", "is_deleted")}
snap["causes"] = {str(c.pk): [c.title, c.is_active, c.source_version, c.is_deleted]
                  for c in CauseReplica.objects.all()}
snap["polls"] = {str(p.pk): [p.status, [str(c) for c in p.causes], p.source_version,
                             p.is_deleted] for p in PollReplica.objects.all()}
recount = defaultdict(lambda: {"causes": defaultdict(lambda: [0, 0]), "ballots": set()})
ballots = {}
for b in Ballot.objects.prefetch_related("allocations"):
    allocations = [[str(a.cause_id), a.points] for a in b.allocations.all()]
    ballots[f"{b.voter_id}:{b.poll_id}"] = [b.revision, b.retracted_at is not None, allocations]
    for cause, points in allocations:
        if points > 0:
            entry = recount[str(b.poll_id)]
            entry["causes"][cause][0] += points
            entry["causes"][cause][1] += 1
            entry["ballots"].add(str(b.pk))
snap["ballots"] = ballots
snap["recount"] = {poll: {"ballots": len(e["ballots"]), "causes": dict(e["causes"])}
                   for poll, e in recount.items()}
snap["tallies"] = {str(t.pk): [t.version, False, t.final, t.ballots, t.total_points,
                               {c["cause_id"]: [c["points"], c["voters"]] for c in t.causes}]
                   for t in PollTally.objects.all()}
print("%s" + json.dumps(snap))
""",
}
SNAPSHOT_CODE = {service: code % MARK for service, code in SNAPSHOT_CODE.items()}


def snapshot_service(platform: Platform, service: str) -> dict[str, Any]:
    result = platform.manage(service, "shell", "-c", SNAPSHOT_CODE[service], timeout=60)
    for line in result.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(
        f"no snapshot from {service} (exit {result.returncode}): "
        f"{result.stdout[-1500:]} {result.stderr[-3000:]}"
    )


def snapshot(platform: Platform) -> dict[str, dict[str, Any]]:
    """The three services' databases, read at about the same moment (in parallel)."""
    services = ("accounts", "polls", "voting")
    with concurrent.futures.ThreadPoolExecutor(len(services)) as pool:
        futures = {s: pool.submit(snapshot_service, platform, s) for s in services}
        return {s: f.result() for s, f in futures.items()}


def _nonzero(causes: dict[str, list[int]]) -> dict[str, list[int]]:
    return {c: v for c, v in causes.items() if v[0] > 0}


def differences(
    snap: dict[str, dict[str, Any]],
    *,
    dead_letters: dict[str, int] | None = None,
    writer: Writer | None = None,
    replicas_only: bool = False,
) -> list[str]:
    """Everything that is not (yet) consistent, as readable lines; [] when all is well."""
    accounts, polls, voting = snap["accounts"], snap["polls"], snap["voting"]
    found: list[str] = []

    def compare(what: str, source: dict, replica: dict) -> None:
        for key in sorted(set(source) | set(replica)):
            if source.get(key) != replica.get(key):
                found.append(
                    f"{what} {key}: source {source.get(key)} != replica {replica.get(key)}"
                )

    # 1. Replicas equal their sources (state and version).
    compare(
        "voter", accounts["accounts"], {k: v[:4] for k, v in voting["voters"].items() if not v[4]}
    )
    compare(
        "cause",
        polls["causes"],
        {k: [v[0], v[1], v[2]] for k, v in voting["causes"].items() if not v[3]},
    )
    compare(
        "poll",
        polls["polls"],
        {k: [v[0], v[1], v[2]] for k, v in voting["polls"].items() if not v[3]},
    )
    if replicas_only:
        return found
    compare("tally", voting["tallies"], polls["tallies"])

    # 2. Every tally is a recount of the ballots; every finalized poll's results are its tally.
    for poll_id in sorted(set(voting["tallies"]) | set(voting["recount"])):
        recount = voting["recount"].get(poll_id, {"ballots": 0, "causes": {}})
        tally = voting["tallies"].get(poll_id)
        counted = (tally[3], _nonzero(tally[5])) if tally else (0, {})
        if counted != (recount["ballots"], _nonzero(recount["causes"])):
            found.append(
                f"tally of poll {poll_id} {counted} != recount of its ballots "
                f"{(recount['ballots'], _nonzero(recount['causes']))}"
            )
    for poll_id, results in polls["results"].items():
        tally = polls["tallies"].get(poll_id)
        if tally is None or _nonzero(results) != _nonzero(tally[5]):
            found.append(f"results of poll {poll_id} {results} != its final tally {tally}")

    # 3. No event lost: every outbox drained, no dead letter left over.
    expected_dead = dead_letters or {}
    for service, data in snap.items():
        if data["outbox_pending"]:
            found.append(f"{service}: {data['outbox_pending']} events still in the outbox")
        if data["dead_letters"] != expected_dead.get(service, 0):
            found.append(
                f"{service}: {data['dead_letters']} dead letters, expected "
                f"{expected_dead.get(service, 0)}"
            )

    # 4. Nothing counted twice.
    for account_id, epoch in accounts["epoch_credited_twice"]:
        found.append(f"account {account_id} credited twice for epoch {epoch}")
    for account_id, row in accounts["accounts"].items():
        if row[2] != accounts["ledger_sum"].get(account_id, 0):
            found.append(
                f"account {account_id} has {row[2]} points but its ledger sums to "
                f"{accounts['ledger_sum'].get(account_id, 0)}"
            )
    if writer is not None:
        found += writer.differences(snap)
    return found


def wait_converged(
    platform: Platform, *, timeout: float = 90.0, **checks: Any
) -> tuple[float, dict[str, dict[str, Any]]]:
    """Poll until `differences` is empty. Returns the seconds it took and the last snapshot;
    at the deadline, fails with what still differs."""
    started = time.monotonic()
    while True:
        snap = snapshot(platform)
        found = differences(snap, **checks)
        if not found:
            return time.monotonic() - started, snap
        if time.monotonic() - started > timeout:
            raise AssertionError(
                f"not converged after {timeout:.0f}s; {len(found)} "
                f"differences:\n  " + "\n  ".join(found[:40])
            )
        time.sleep(0.5)


# ---------------------------------------------------------------------------- the writer --


def request(
    method: str, url: str, data: Any = None, token: str | None = None, timeout: float = 10.0
) -> tuple[str, int | None, Any]:
    """(outcome, status, body). Outcome: "ok" (2xx), "refused" (4xx), "failed" (5xx, or the
    connection was refused: nothing was done), "unknown" (sent, but no answer: it may or may
    not have been applied)."""
    try:
        answer = http(method, url, data, token=token, timeout=timeout)
    except urllib.error.URLError as exc:
        refused = isinstance(exc.reason, ConnectionRefusedError)
        return ("failed" if refused else "unknown"), None, str(exc.reason)
    except OSError as exc:
        return ("failed" if isinstance(exc, ConnectionRefusedError) else "unknown"), None, str(exc)
    status = answer.status
    outcome = "ok" if status < 400 else "refused" if status < 500 else "failed"
    return outcome, status, answer.body


@dataclasses.dataclass
class Voter:
    id: str
    token: str


def new_delegator(platform: Platform) -> Voter:
    email = f"writer-{uuid.uuid4().hex[:10]}@example.com"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens
    return Voter(registered.body["id"], tokens.body["access"])


@dataclasses.dataclass
class History:
    """Every write a pool of voters got, across the writers of a module (ballots and ledgers
    outlive one scenario): voter id -> [(outcome, allocations)], account id -> [outcome]."""

    ballots: dict[str, list[tuple[str, list[list[Any]]]]] = dataclasses.field(
        default_factory=lambda: defaultdict(list)
    )
    adjustments: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    registered: list[str] = dataclasses.field(default_factory=list)


class Writer(threading.Thread):
    """Real API writes at a modest, bounded rate: ballots (re-cast over and over) in an open
    poll by a pool of delegators, +1 points adjustments of those delegators by an operator, and
    now and then a registration. Every write and its outcome is recorded, so a scenario can say
    how many were in flight and check that each acknowledged one is there exactly once."""

    def __init__(
        self,
        platform: Platform,
        *,
        operator: str,
        voters: list[Voter],
        poll_id: str,
        causes: list[str],
        history: History | None = None,
        interval: float = 0.12,
        max_writes: int = 2000,
        seed: int = 0,
    ) -> None:
        super().__init__(name="writer", daemon=True)
        self.platform, self.operator, self.voters = platform, operator, voters
        self.poll_id, self.causes = poll_id, causes
        self.interval, self.max_writes = interval, max_writes
        self.random = random.Random(seed)
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.history = history or History()
        self.ballots, self.adjustments = self.history.ballots, self.history.adjustments
        self.registered = self.history.registered

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        n = 0
        while n < self.max_writes and not self.stopped.wait(self.interval):
            n += 1
            if n % 12 == 0:
                self._register()
            elif n % 3 == 0:
                self._adjust(self.random.choice(self.voters))
            else:
                self._ballot(self.random.choice(self.voters))

    def stop(self) -> dict[str, int]:
        self.stopped.set()
        self.join(30)
        assert not self.is_alive(), "the writer did not stop"
        return self.summary()

    def mark(self) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter(self.outcomes)

    def summary(self, since: Counter[tuple[str, str]] | None = None) -> dict[str, int]:
        with self.lock:
            counts = Counter(self.outcomes)
        if since:
            counts.subtract(since)
        out: dict[str, int] = Counter()
        for (kind, outcome), n in counts.items():
            out[f"{kind} {outcome}"] += n
            out[outcome] += n
        return dict(sorted(out.items()))

    def _record(self, kind: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(kind, outcome)] += 1

    def _ballot(self, voter: Voter) -> None:
        first, second = self.random.sample(self.causes, 2)
        a = self.random.randint(1, 60)
        allocations = [[first, a], [second, self.random.randint(0, 100 - a)]]
        body = {"allocations": [{"cause": c, "points": p} for c, p in allocations]}
        outcome, status, answer = request(
            "PUT",
            self.platform.url("voting", f"api/polls/{self.poll_id}/ballot/"),
            body,
            voter.token,
        )
        if outcome == "refused":
            raise AssertionError(f"a valid ballot was refused: {status} {answer}")
        with self.lock:
            self.ballots[voter.id].append((outcome, allocations))
        self._record("ballot", outcome)

    def _adjust(self, voter: Voter) -> None:
        outcome, status, answer = request(
            "POST",
            self.platform.url("accounts", f"api/accounts/{voter.id}/points/"),
            {"delta": 1, "reason": "writer"},
            self.operator,
        )
        if outcome == "refused":
            raise AssertionError(f"a valid adjustment was refused: {status} {answer}")
        with self.lock:
            self.adjustments[voter.id].append(outcome)
        self._record("points", outcome)

    def _register(self) -> None:
        outcome, status, answer = request(
            "POST",
            self.platform.url("accounts", "api/register/"),
            {"email": f"w-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD},
        )
        if outcome == "refused":
            raise AssertionError(f"a valid registration was refused: {status} {answer}")
        with self.lock:
            if outcome == "ok":
                self.registered.append(answer["id"])
        self._record("register", outcome)

    # -- the checks -------------------------------------------------------------------------

    def differences(self, snap: dict[str, dict[str, Any]]) -> list[str]:
        """Each acknowledged write is there, exactly once; an unanswered one at most once."""
        found = []
        accounts, voting = snap["accounts"]["accounts"], snap["voting"]
        for account_id in self.registered:
            if account_id not in accounts:
                found.append(f"registered account {account_id} is missing")
        for voter_id, outcomes in self.adjustments.items():
            ok, unknown = outcomes.count("ok"), outcomes.count("unknown")
            have = snap["accounts"]["adjustments"].get(voter_id, 0)
            if not ok <= have <= ok + unknown:
                found.append(
                    f"account {voter_id}: {have} adjustments recorded, {ok} "
                    f"acknowledged (+{unknown} unanswered)"
                )
        for voter_id, casts in self.ballots.items():
            ok = sum(1 for o, _ in casts if o == "ok")
            unknown = sum(1 for o, _ in casts if o == "unknown")
            ballot = voting["ballots"].get(f"{voter_id}:{self.poll_id}")
            revisions = ballot[0] if ballot else 0
            if not ok <= revisions <= ok + unknown:
                found.append(
                    f"voter {voter_id}: ballot revision {revisions}, {ok} casts "
                    f"acknowledged (+{unknown} unanswered)"
                )
            last_ok = max((i for i, (o, _) in enumerate(casts) if o == "ok"), default=None)
            if last_ok is None:
                continue
            # The last acknowledged ballot, or one sent after it that got no answer.
            candidates = [a for o, a in casts[last_ok:] if o in ("ok", "unknown")]
            have = ballot[2] if ballot else None
            if have not in candidates:
                found.append(
                    f"voter {voter_id}: ballot {have}, last acknowledged {casts[last_ok][1]}"
                )
        return found


def seconds(value: float) -> str:
    return f"{value:.1f} s"
