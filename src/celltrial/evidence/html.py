"""Self-contained HTML for a pooled analysis and a claim audit (figures embedded)."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from jinja2 import Environment, select_autoescape

from celltrial.evidence.audit import AuditRow
from celltrial.evidence.plots import forest_plot, funnel_plot
from celltrial.evidence.pool import PoolResult, to_table

_ENV = Environment(autoescape=select_autoescape(default=True))
_ENV.filters["g4"] = lambda v: f"{v:.4g}"

_TEMPLATE = _ENV.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1a202c}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border-bottom:1px solid #e2e8f0;padding:.3rem .6rem;text-align:left}
th{background:#f7fafc}.consistent{color:#276749}.inconsistent{color:#c53030;font-weight:600}.not{color:#718096}.conditional{color:#975a16;font-weight:600}
img{max-width:100%}.note{color:#4a5568;font-size:.85rem}
</style></head><body>
<h1>{{ title }}</h1>
{% if pooled %}
<h2>Pooled {{ pooled.outcome }} ({{ pooled.measure }})</h2>
<p>{{ model_name }} (test: {{ pooled.model.test }}), k = {{ pooled.model.n }}:
pooled {{ pooled.measure }} <b>{{ est|g4 }}</b> ({{ (100 * pooled.model.level)|round|int }}% CI {{ lo|g4 }} to {{ hi|g4 }}), p = {{ pooled.model.p_value|g4 }};
τ² = {{ pooled.model.tau2|g4 }}, I² = {{ pooled.model.i2|round(1) }}%, Q({{ pooled.model.q_df }}) = {{ pooled.model.q|g4 }}, p = {{ pooled.model.q_p_value|g4 }}.
{% if pi %}Prediction interval {{ pi[0]|g4 }} to {{ pi[1]|g4 }}.{% endif %}</p>
<img alt="Forest plot" src="data:image/png;base64,{{ forest }}">
<table><tr><th>study</th><th>experimental</th><th>control</th><th>{{ pooled.measure }}</th><th>95% CI</th><th>weight</th></tr>
{% for r in rows %}<tr><td>{{ r.study }}</td><td>{{ r.experimental }}</td><td>{{ r.control }}</td><td>{{ r.effect|g4 }}</td>
<td>{{ r.ci[0]|g4 }} to {{ r.ci[1]|g4 }}</td><td>{{ r.weight|round(1) }}%{% if r.corrected %} *{% endif %}</td></tr>{% endfor %}
</table>
<p class="note">* zero cell: 1/2 added to each cell of that study (metafor's escalc default).</p>
{% if pooled.excluded %}<h3>Not pooled</h3><ul>{% for s, why in pooled.excluded %}<li>{{ s }}: {{ why }}</li>{% endfor %}</ul>{% endif %}
{% if loo %}<h3>Leave one out</h3><table><tr><th>without</th><th>{{ pooled.measure }}</th><th>τ²</th><th>I²</th></tr>
{% for r in loo %}<tr><td>{{ r[0] }}</td><td>{{ r[1]|g4 }}</td><td>{{ r[2]|g4 }}</td><td>{{ r[3]|round(1) }}%</td></tr>{% endfor %}</table>{% endif %}
{% if subgroups %}<h3>Subgroups by {{ pooled.subgroup_by }}</h3><table><tr><th>subgroup</th><th>k</th><th>{{ pooled.measure }}</th><th>95% CI</th></tr>
{% for name, k, e, a, b in subgroups %}<tr><td>{{ name }}</td><td>{{ k }}</td><td>{{ e|g4 }}</td><td>{{ a|g4 }} to {{ b|g4 }}</td></tr>{% endfor %}</table>
<p>Test for subgroup differences: Q({{ pooled.model.subgroup_df }}) = {{ pooled.model.subgroup_q|g4 }}, p = {{ pooled.model.subgroup_p_value|g4 }}.</p>{% endif %}
<img alt="Funnel plot" src="data:image/png;base64,{{ funnel }}">
{% endif %}
{% if audit %}
<h2>Audit of published claims</h2>
<table><tr><th>record</th><th>claim</th><th>reported</th><th>counts</th><th>recomputed</th><th>verdict</th><th>reason</th></tr>
{% for r in audit %}<tr><td>{{ r.record }}</td><td>{{ r.claim }}</td><td>{{ r.reported }}</td><td>{{ r.counts }}</td><td>{{ r.recomputed }}</td>
<td class="{{ 'conditional' if r.verdict.startswith('consistent if') else r.verdict.split()[0] }}">{{ r.verdict }}</td><td>{{ r.reason }}</td></tr>{% endfor %}</table>
{% endif %}
<p class="note">Made by celltrial.</p>
</body></html>
"""
)


def report_html(
    *, title: str, pooled: PoolResult | None = None, audit: Sequence[AuditRow] | None = None
) -> str:
    """One self-contained HTML page."""
    context: dict[str, object] = {"title": title, "pooled": pooled, "audit": list(audit or [])}
    if pooled is not None:
        m = pooled.model
        context.update(
            model_name=(
                "Fixed-effect (inverse-variance) model"
                if m.method == "FE"
                else f"{m.method} random-effects model"
            ),
            est=pooled.back(m.estimate),
            lo=pooled.back(m.ci[0]),
            hi=pooled.back(m.ci[1]),
            pi=tuple(pooled.back(v) for v in m.prediction_interval)
            if m.prediction_interval
            else None,
            rows=to_table(pooled),
            forest=base64.b64encode(forest_plot(pooled)).decode(),
            funnel=base64.b64encode(funnel_plot(pooled)).decode(),
            loo=(
                [
                    (
                        s.label,
                        pooled.back(float(pooled.leave_one_out.estimate[i])),
                        float(pooled.leave_one_out.tau2[i]),
                        float(pooled.leave_one_out.i2[i]),
                    )
                    for i, s in enumerate(pooled.studies)
                ]
                if pooled.leave_one_out is not None
                else None
            ),
            subgroups=(
                [
                    (
                        name,
                        sub.n,
                        pooled.back(sub.estimate),
                        pooled.back(sub.ci[0]),
                        pooled.back(sub.ci[1]),
                    )
                    for name, sub in m.subgroups.items()
                ]
                if m.subgroups
                else None
            ),
        )
    return _TEMPLATE.render(**context)


__all__ = ["report_html"]
