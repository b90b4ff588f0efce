"""interconnect"""
