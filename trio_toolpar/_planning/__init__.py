"""Planning: a batch or an open stream of calls checked, linked and ordered into waves. Pure: no Trio, no I/O."""
