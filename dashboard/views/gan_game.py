import streamlit as st


def render() -> None:
    st.header("gan_game")
    st.info("Under construction.")
