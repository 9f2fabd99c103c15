from django.urls import path
from library import views

urlpatterns = [
    path("books/", views.book_list),
    path("books/<int:pk>/", views.book_detail),
    path("books/<int:pk>/reviews/", views.add_review),
    path("authors/", views.author_list),
]
