"""The RAG stage: entities from the time series and the notes, knowledge from the KG, and the
task-specific summary prompt."""
