DROP TABLE projection_dead_letter;
