"""The weekly exposure report: numbers computed from the store (:mod:`.compute`) and rendered (:mod:`.render`)."""
