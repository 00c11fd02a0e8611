import streamlit as st


def render() -> None:
    st.header("interpolate")
    st.info("Under construction.")
