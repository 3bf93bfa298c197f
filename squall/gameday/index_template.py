"""The game-day index page template (kept in a module so it ships with the package without package-data)."""

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.suite }} — game day {{ r.stamp }} — {{ r.verdict }}{% if r.fragile %} (fragile){% endif %}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
.verdict{display:inline-block;padding:.35rem .8rem;border-radius:.4rem;font-weight:700;color:#fff;text-transform:uppercase;letter-spacing:.03em}
.passed{background:#1f8a4c}.failed{background:#c0392b}.aborted{background:#8e44ad}.inconclusive{background:#b7791f}.invalid{background:#7f8c8d}.interrupted{background:#555}
.score{font-size:2.4rem;font-weight:700;margin:.4rem 0}.muted{color:#667}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eef;vertical-align:top}
th{background:#f5f6fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.tag{font-size:.78rem;padding:.1rem .45rem;border-radius:.3rem;color:#fff}
.up{color:#1f8a4c}.down{color:#c0392b}ul{padding-left:1.2rem}
.fragile{background:#b7791f}.note{background:#fff8e6;border-left:4px solid #b7791f;padding:.5rem .8rem}
svg text{font-size:10px;fill:#667}
</style>
</head>
<body>
<p class="muted">squall game day · suite <strong>{{ r.suite }}</strong> · {{ started }} UTC · {{ duration(r.duration_s) }}</p>
<h1><span class="verdict {{ r.verdict }}">{{ r.verdict }}</span>{% if r.fragile %} <span class="verdict fragile" id="fragile">fragile</span>{% endif %} exit code {{ r.exit_code|int }}</h1>
{% if r.fragile %}<p class="note">A <strong>fragile</strong> run: <code>squall demo --fragile</code> switched checkout's timeouts, retries, circuit breakers and fallbacks off, so this is what the faults do without them. It is left out of the trend and is never the baseline of "what changed" (<code>squall history --fragile</code> lists it).</p>{% endif %}
<div class="score" id="score">{{ score_shown(r.score) }}<span class="muted" style="font-size:1rem"> / 100 resilience score{% if r.min_score is not none %} (minimum {{ "%g"|format(r.min_score) }}){% endif %}</span></div>
<ul id="reasons">{% for reason in r.reasons %}<li>{{ reason }}</li>{% endfor %}</ul>
{% if r.problems %}<h2>Problems — nothing was run or injected</h2><ul>{% for p in r.problems %}<li>{{ p }}</li>{% endfor %}</ul>{% endif %}

{% if r.experiments %}
<h2>Experiments</h2>
<table id="experiments">
<tr><th>experiment</th><th>verdict</th><th>score</th><th>weight</th><th>required</th><th>time</th><th>why</th><th>report</th></tr>
{% for e in r.experiments %}
<tr data-experiment="{{ e.name }}"><td><strong>{{ e.name }}</strong>{% if e.title %}<br><span class="muted">{{ e.title }}</span>{% endif %}</td>
<td><span class="tag {{ e.verdict }}">{{ e.verdict }}</span></td>
<td class="num">{{ score_shown(e.score) }}</td>
<td class="num">{{ "%g"|format(e.weight) }}</td><td class="required">{{ "yes" if e.name in required else "no" }}</td>
<td class="num">{{ duration(e.duration_s) }}</td><td>{{ e.reason }}</td>
<td>{% for kind, href in links[e.name] %}<a href="{{ href }}">{{ kind }}</a> {% endfor %}</td></tr>
{% endfor %}
</table>
{% if r.min_score is none and required|length == r.experiments|length and not (r.experiments|selectattr("required")|list) %}<p class="muted">The suite sets no minimum score and marks no experiment required, so every experiment is required.</p>{% endif %}
{% endif %}

{% if lost %}
<h2>What cost points</h2>
<table id="lost"><tr><th>experiment</th><th>check</th><th>points</th></tr>
{% for p in lost %}<tr><td>{{ p.experiment }}</td><td>{{ p.what }}</td><td class="num">−{{ "%.1f"|format(p.points) }}</td></tr>{% endfor %}
</table>
{% endif %}

<h2>What changed since the last game day</h2>
{% if not previous %}<p class="muted" id="changes">This is the first recorded game day of this suite.</p>
{% else %}
<table id="changes"><tr><th>experiment</th><th>verdict before</th><th>verdict now</th><th>score change</th></tr>
{% for c in r.changes %}<tr data-experiment="{{ c.experiment }}"><td>{{ c.experiment }}</td>
<td>{{ c.verdict_before or "not run" }}</td><td>{{ c.verdict_now }}{% if c.verdict_changed %} <strong>(changed)</strong>{% endif %}</td>
<td class="num">{% if c.score_delta is none %}—{% elif c.score_delta > 0 %}<span class="up">+{{ "%.1f"|format(c.score_delta) }}</span>{% elif c.score_delta < 0 %}<span class="down">{{ "%.1f"|format(c.score_delta) }}</span>{% else %}±0{% endif %}</td></tr>{% endfor %}
</table>
{% endif %}

{% if trend|length > 1 %}
<h2>Score trend (last {{ trend|length }} game days)</h2>
<svg width="{{ 40 + 30 * (trend|length - 1) + 20 }}" height="130" role="img" aria-label="resilience score trend">
<line x1="40" y1="10" x2="40" y2="110" stroke="#ccd"/><line x1="40" y1="110" x2="{{ 40 + 30 * (trend|length - 1) }}" y2="110" stroke="#ccd"/>
<text x="5" y="14">100</text><text x="15" y="113">0</text>
<polyline fill="none" stroke="#2b6cb0" stroke-width="2" points="{% for s in trend %}{{ 40 + 30 * loop.index0 }},{{ 110 - (s.score or 0) }} {% endfor %}"/>
{% for s in trend %}<circle cx="{{ 40 + 30 * loop.index0 }}" cy="{{ 110 - (s.score or 0) }}" r="3" class="{{ s.verdict }}" fill="#2b6cb0"><title>{{ s.stamp }}: {{ s.verdict }}, score {{ score_shown(s.score) }}</title></circle>{% endfor %}
</svg>
{% endif %}

{% if recent %}
<h2>Recent game days</h2>
<table id="history"><tr><th>when (stamp)</th><th>verdict</th><th>score</th><th>time</th></tr>
{% for row in recent %}<tr><td>{{ row.stamp }}</td><td><span class="tag {{ row.verdict }}">{{ row.verdict }}</span>{% if row.fragile %} <span class="tag fragile">fragile</span>{% endif %}</td>
<td class="num">{{ score_shown(row.score) }}</td><td class="num">{{ duration(row.duration_s) }}</td></tr>{% endfor %}
</table>
{% endif %}
<p class="muted">Score: passed 100; failed 50 × (checks held / checks); aborted 0; inconclusive not scored. Suite score = Σ(weight × score) / Σ weight.</p>
</body>
</html>
"""
