"""The JSON face under /api/v1: the feed (writes), the inspection API (reads) and their shared plumbing."""
