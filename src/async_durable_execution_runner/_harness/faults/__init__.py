"""Fault kinds, the hooks that apply a plan through the emulator's fault-hook seam, and
placing faults at the points a run reaches."""
