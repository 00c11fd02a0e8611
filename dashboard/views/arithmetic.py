import streamlit as st


def render() -> None:
    st.header("arithmetic")
    st.info("Under construction.")
