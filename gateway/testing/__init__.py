"""gateway/testing"""
