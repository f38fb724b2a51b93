"""The look of ``ainos top`` (textual CSS): wide terminals put panels side by side, narrow
ones stack them, short ones leave the recent actions out. Kept in Python, so it ships
wherever the package does."""

__all__ = ["TOP_CSS"]

TOP_CSS = """
#header {
    height: 1;
    background: $primary;
    color: $text;
    text-style: bold;
    padding: 0 1;
}

#status, #header {
    text-wrap: nowrap;
    text-overflow: ellipsis;
}

#status {
    height: 1;
    padding: 0 1;
    color: $text-muted;
}

#status.failing {
    color: $error;
    text-style: bold;
}

.panel {
    border: round $primary-darken-1;
    border-title-color: $accent;
}

#upper {
    height: 12;
}

#devices {
    width: 1fr;
}

#side {
    width: 1fr;
}

#pool {
    height: auto;
}

#pool .bar {
    width: 100%;
}

#pool Bar {
    width: 1fr;
}

#classes {
    height: 1fr;
}

.device {
    height: 3;
}

.device .lines {
    height: 2;
}

.device .line-label {
    width: 5;
    color: $text-muted;
}

.device Sparkline {
    width: 1fr;
    height: 2;
    margin-right: 1;
}

#processes {
    height: 1fr;
    min-height: 6;
}

#lower {
    height: 9;
}

#lower > TablePanel {
    width: 1fr;
}

DataTable {
    height: 1fr;
}

#filter {
    display: none;
    dock: bottom;
}

/* Narrow: the devices above the pool and the classes; the recent actions left out. */
Screen.-narrow #upper {
    layout: vertical;
    height: auto;
}

Screen.-narrow #devices {
    width: 100%;
    height: auto;
    max-height: 8;
}

Screen.-narrow #side {
    width: 100%;
    height: auto;
}

Screen.-narrow #pool .bar {
    display: none;
}

Screen.-narrow #classes {
    height: auto;
}

Screen.-narrow #classes DataTable {
    height: auto;
}

Screen.-narrow #actions, Screen.-short #actions {
    display: none;
}

/* Short: smaller tables below; narrow and short: the processes keep the room left. */
Screen.-short #lower {
    height: 7;
}

Screen.-narrow.-short #lower {
    display: none;
}
"""
