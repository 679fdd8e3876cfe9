"""Dead letters: a rejected record and why (`letter`), as rows (`rows`),
mirrored from the dead-letter topic into ClickHouse (`sink`); found, shown
and replayed by `cx deadletters` (`commands`: which ones in `select`, the
table in `lookup`, the topic in `replay`, what is printed in `present`)."""
