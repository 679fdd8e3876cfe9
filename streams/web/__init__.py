"""The CX web UI: pages and their JSON endpoints, served by the worker at `/`
and by `cx ui` (docs/ui.md). Reads the documented ClickHouse views only."""
