import streamlit as st


def render() -> None:
    st.header("training")
    st.info("Under construction.")
