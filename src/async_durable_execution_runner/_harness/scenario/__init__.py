"""A scenario (handler, input, fault plan, timings), running it, its outcome, and the
strategies that draw scenarios."""
