"""Evaluation: gold sets (eval/gold/), metrics, the scoring runner and reports.

gold.load_gold -> runner.run_eval(cases, answer_fn, stored_text=...) -> report.format_table /
write_report / markdown_report; gate.gate applies --min/--max thresholds.
"""
