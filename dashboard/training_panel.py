import streamlit as st


def render() -> None:
    st.caption("Training panel under construction.")
