"""dram"""
