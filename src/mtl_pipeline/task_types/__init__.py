"""Task types: how labels are validated and encoded, what head a task gets, its loss."""
