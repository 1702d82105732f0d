"""The versioned document store on SQL: timelines, commits, branches, documents and events."""
