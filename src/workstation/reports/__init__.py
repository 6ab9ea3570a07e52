"""Exported reports: builders turn stored results into a ReportDocument; renderers write HTML, PDF, CSV, XLSX."""
