-- One database per service (the services never share tables).
CREATE DATABASE kinerja_directory;
CREATE DATABASE kinerja_attendance;
CREATE DATABASE kinerja_activities;
CREATE DATABASE kinerja_approvals;
CREATE DATABASE kinerja_scoring;
CREATE DATABASE kinerja_payroll;
CREATE DATABASE kinerja_identity;
