import streamlit as st


def render() -> None:
    st.header("latent_map")
    st.info("Under construction.")
