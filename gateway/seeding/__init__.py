"""gateway/seeding"""
