"""Application layer: the ``ainos`` command and, later, the agent, supervisor and MCP server."""
