"""The harness's own tests: no engine needed (fakes stand in for docker)."""
