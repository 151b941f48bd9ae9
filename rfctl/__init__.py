"""rfctl: one small Unix tool in front of every LLM a team uses."""

__version__ = "0.2.0"
