"""What the tests share: events to send, the independent model, ways to drive the pipeline and the CLI.

Test modules import from here (and fixtures come from conftest); no test
module imports another.
"""
