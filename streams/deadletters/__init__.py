"""Dead letters: a rejected record and why (`letter`), as rows (`rows`),
mirrored from the dead-letter topic into ClickHouse (`sink`)."""
