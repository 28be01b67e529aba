# kind: module-not-installed
# line: 5
# fix: import pygame
# mention: pygame
import pygame
