// JSON transform of a request payload: validate, normalise and reshape, as an API gateway rule would.
function main(input) {
  const user = input.user;
  const email = String(user.email).trim().toLowerCase();
  const tags = Array.from(new Set(input.tags.map((t) => t.toLowerCase()))).sort();
  const events = input.events
    .filter((e) => e.kind !== "debug")
    .map((e) => ({ kind: e.kind, at: e.ts, ms: e.duration_ms }));
  const byKind = {};
  for (const e of events) byKind[e.kind] = (byKind[e.kind] || 0) + e.ms;
  return {
    id: "u-" + user.id,
    name: (user.first + " " + user.last).trim(),
    email,
    valid_email: /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/.test(email),
    tags,
    events: events.length,
    ms_by_kind: byKind,
    slowest: events.reduce((a, e) => (e.ms > a ? e.ms : a), 0),
  };
}
